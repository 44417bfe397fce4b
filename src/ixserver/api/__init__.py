"""The API's operations: one module per area, named as the spec names it (invoices.py,
estimates.py, payments.py, treasury.py, sequences.py …); each reads its input with web/wire.py,
calls one service, and renders the exact wire shape. The HTTP machinery they stand on is web/."""
