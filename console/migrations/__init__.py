"""Alembic migrations: the one schema path for SQLite and PostgreSQL."""
