"""Storage: the only place SQL lives. Tables, queries per area, the gapless counter, the
single writer path and the Alembic migrations."""
