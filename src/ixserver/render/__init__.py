"""What ixserver draws from documents: the QR symbol (qr.py); PDFs and SAF-T files to come."""
