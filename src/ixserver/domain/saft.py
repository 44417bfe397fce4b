"""SAF-T (PT) control totals (pt-compliance §5.3): one rule for the files ixserver writes
(render/saft.py) and the files `ixserver verify --saft` checks (audit/saft.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

TABLES = ("SalesInvoices", "MovementOfGoods", "WorkingDocuments", "Payments")
# The document statuses (SAF-T's codes) whose amounts a table's sums leave out; NumberOfEntries
# and NumberOfMovementLines count those documents all the same.
LEFT_OUT: dict[str, frozenset[str]] = {
    "SalesInvoices": frozenset("AF"),  # canceled, and invoices summarized by another
    "MovementOfGoods": frozenset("A"),
    "WorkingDocuments": frozenset("A"),
    "Payments": frozenset("A"),
}


@dataclass
class ControlTotals:
    """A table's control totals."""

    entries: int = 0
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    lines: int = 0  # MovementOfGoods: NumberOfMovementLines (canceled documents' lines included)
    quantity: Decimal = Decimal(0)  # MovementOfGoods: TotalQuantityIssued (canceled excluded)

    def controls(self, table: str) -> dict[str, int | Decimal]:
        """The table's control elements, in the file's order, and their values."""
        if table == "MovementOfGoods":
            return {"NumberOfMovementLines": self.lines, "TotalQuantityIssued": self.quantity}
        return {"NumberOfEntries": self.entries, "TotalDebit": self.debit, "TotalCredit": self.credit}
