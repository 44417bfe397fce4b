"""Checks of files on their own, without the database: `ixserver verify --saft` (saft.py)."""
