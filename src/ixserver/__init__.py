"""ixserver: a self-hosted invoicing server that speaks the InvoiceXpress API v2."""

__version__ = "0.1.0"
