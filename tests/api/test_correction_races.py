"""Credit notes and payments under concurrency (issues 11 and 12): two server instances on one
database race two full credits of one invoice, a cancellation of the invoice against a credit
note or a payment of it, two full payments, and a payment against the cancellation of another
payment. The checks and the number are taken while the corrected or paid document is locked,
and a cancellation takes the same lock: in every repeat exactly one of two rivals wins, and
nothing is ever over-paid."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.api.invoicing import change, create, issue
from tests.support import Api, LiveServer, live_server

# In make test's parallel part, not among the slow proofs that run alone: what it checks (one
# of two rivals wins) holds on a loaded machine, where the races only change their interleaving.
REPEATS = 100
LINE = {"name": "Chair", "description": "Oak chair", "unit_price": "100", "quantity": "1", "tax": {"name": "IVA23"}}


@pytest.fixture(scope="module")
def second(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Another instance on the same database (its own writer, its own connections), for the
    module's tests: each races in an account of its own."""
    with live_server(server.settings.resolved_database_url, tmp_path_factory.mktemp("second"), sandbox=True) as other:
        yield other


def _at_once(*calls: tuple[Api, str, dict] | tuple[Api, str, dict, str]) -> list[int]:
    """Each (api, path, body[, method]) sent at the same moment (PUT unless said); their statuses."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = [0] * len(calls)

    def run(n: int) -> None:
        api, path, payload, *method = calls[n]
        barrier.wait()
        statuses[n] = api.request(method[0] if method else "PUT", path, json=payload).status_code

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def client_of(invoice: dict) -> dict:
    return {"name": invoice["client"]["name"], "code": invoice["client"]["code"]}


def _full_credit(api: Api, invoice: dict) -> dict:
    return create(api, "credit_note", owner_invoice_id=invoice["id"], items=[LINE], client=client_of(invoice))


def test_two_full_credits_at_once_one_wins(api: Api, second: LiveServer) -> None:
    other = Api(second.url, api.key, api.name)
    outcomes = []
    for _ in range(REPEATS):
        invoice = issue(api, items=[LINE])
        first, again = _full_credit(api, invoice), _full_credit(api, invoice)
        state = {"credit_note": {"state": "finalized"}}
        outcomes.append(
            tuple(
                sorted(
                    _at_once(
                        (api, f"/credit_notes/{first['id']}/change-state.json", state),
                        (other, f"/credit_notes/{again['id']}/change-state.json", state),
                    )
                )
            )
        )
    assert outcomes == [(200, 422)] * REPEATS


def test_cancel_and_credit_at_once_one_wins(api: Api, second: LiveServer) -> None:
    other = Api(second.url, api.key, api.name)
    outcomes = []
    for _ in range(REPEATS):
        invoice = issue(api, items=[LINE])
        note = _full_credit(api, invoice)
        cancel = {"invoice": {"state": "canceled", "message": "wrong"}}
        outcomes.append(
            _at_once(
                (api, f"/invoices/{invoice['id']}/change-state.json", cancel),
                (other, f"/credit_notes/{note['id']}/change-state.json", {"credit_note": {"state": "finalized"}}),
            )
        )
    assert all(sorted(o) == [200, 422] for o in outcomes), outcomes
    # after either order, no canceled invoice has a live credit note
    for canceled, finalized in outcomes:
        assert not (canceled == 200 and finalized == 200)


def _payment(invoice: dict, amount: object) -> tuple[str, dict, str]:
    return (
        f"/documents/{invoice['id']}/partial_payments.json",
        {"partial_payment": {"amount": amount, "payment_mechanism": "NU"}},
        "POST",
    )


def test_two_full_payments_at_once_one_wins(api: Api, second: LiveServer) -> None:
    other = Api(second.url, api.key, api.name)
    outcomes = []
    for _ in range(REPEATS // 2):
        invoice = issue(api, items=[LINE])
        outcomes.append(
            tuple(sorted(_at_once((api, *_payment(invoice, "123.00")), (other, *_payment(invoice, "123.00")))))
        )
        assert api.get(f"/invoices/{invoice['id']}.json").json()["invoice"]["status"] == "settled"
    assert outcomes == [(200, 422)] * (REPEATS // 2)
    receipts = api.get("/receipts.json", params={"per_page": 100}).json()
    assert receipts["pagination"]["total_entries"] == REPEATS // 2, "one receipt per invoice, never two"
    numbers = sorted(int(r["sequence_number"].split("/")[0]) for r in receipts["receipts"])
    assert numbers == list(range(1, REPEATS // 2 + 1)), "gapless: a refused payment takes no number"


def test_cancel_and_pay_at_once_one_wins(api: Api, second: LiveServer) -> None:
    other = Api(second.url, api.key, api.name)
    outcomes = []
    for _ in range(REPEATS // 2):
        invoice = issue(api, items=[LINE])
        cancel = {"invoice": {"state": "canceled", "message": "wrong"}}
        outcomes.append(
            _at_once((api, f"/invoices/{invoice['id']}/change-state.json", cancel), (other, *_payment(invoice, "10")))
        )
    assert all(sorted(o) == [200, 422] for o in outcomes), outcomes


def test_a_payment_and_the_cancellation_of_another_at_once(api: Api, second: LiveServer) -> None:
    """Either order leaves the invoice final with 23.00 of 123.00 paid: the cancellation
    unsettles what the payment settled, or the payment finds 123.00 open and settles nothing."""
    other = Api(second.url, api.key, api.name)
    for _ in range(REPEATS // 4):
        invoice = issue(api, items=[LINE])
        path, body, _method = _payment(invoice, "100.00")
        first = api.post(path, json=body).json()["receipt"]
        cancel = {"receipt": {"state": "canceled", "message": "wrong amount"}}
        assert _at_once(
            (api, f"/receipts/{first['id']}/change-state.json", cancel), (other, *_payment(invoice, "23.00"))
        ) == [200, 200]
        assert api.get(f"/invoices/{invoice['id']}.json").json()["invoice"]["status"] == "final"
        assert api.post(path, json={"partial_payment": {"amount": "100.01"}}).status_code == 422
        assert api.post(path, json={"partial_payment": {"amount": "100.00"}}).status_code == 200


def test_a_credit_note_takes_back_lines_of_its_invoice(api: Api) -> None:
    """pt-compliance §7: quantities and values, per line, in the invoice's currency, not before it."""
    sold = [
        {"name": "Widget", "description": "W", "unit_price": "10", "quantity": "2.5", "tax": {"name": "IVA23"}},
        {"name": "Book", "description": "B", "unit_price": "20", "quantity": "1", "tax": {"name": "IVA13"}},
    ]
    invoice = issue(api, items=sold)

    def refusal(**fields: object) -> str:
        note = create(api, "credit_note", owner_invoice_id=invoice["id"], client=client_of(invoice), **fields)
        answer = change(api, "credit_note", note["id"], "finalized")
        assert answer.status_code == 422, answer.text
        return str(answer.json()["errors"][0]["error"])

    widget = {**sold[0], "quantity": "5", "unit_price": "1"}  # within the value, not the quantity
    assert refusal(items=[widget]) == "Can't credit 5 of Widget: 2.5 left to credit"
    assert refusal(items=[{**sold[0], "name": "Pencil"}]) == "Pencil at 23% VAT is not on the document it corrects"
    assert (
        refusal(items=[{**sold[1], "tax": {"name": "IVA23"}}]) == "Book at 23% VAT is not on the document it corrects"
    )
    assert refusal(items=[sold[1]], date="01/01/2020", due_date="01/01/2020").startswith(
        "A credit note can't be dated before the document it corrects"
    )
    assert refusal(items=[sold[1]], currency_code="USD", rate="1.1") == (
        "A credit note is in the currency of the document it corrects (EUR)"
    )
    part = create(
        api,
        "credit_note",
        owner_invoice_id=invoice["id"],
        client=client_of(invoice),
        items=[{**sold[0], "quantity": "1.5"}],
    )
    assert change(api, "credit_note", part["id"], "finalized").status_code == 200
    assert refusal(items=[{**sold[0], "quantity": "1.5"}]) == "Can't credit 1.5 of Widget: 1 left to credit"
    rest = create(
        api,
        "credit_note",
        owner_invoice_id=invoice["id"],
        client=client_of(invoice),
        items=[sold[1], {**sold[0], "quantity": "1"}],
    )
    assert change(api, "credit_note", rest["id"], "finalized").status_code == 200


def test_a_usd_invoice_is_credited_in_usd(api: Api) -> None:
    invoice = issue(api, items=[LINE], currency_code="USD", rate="1.1")
    in_euros = create(api, "credit_note", owner_invoice_id=invoice["id"], client=client_of(invoice), items=[LINE])
    assert change(api, "credit_note", in_euros["id"], "finalized").json()["errors"] == [
        {"error": "A credit note is in the currency of the document it corrects (USD)"}
    ]
    in_dollars = create(api, "credit_note", owner_invoice_id=invoice["id"], client=client_of(invoice), items=[LINE],
                        currency_code="USD", rate="1.1")  # fmt: skip
    assert change(api, "credit_note", in_dollars["id"], "finalized").status_code == 200
