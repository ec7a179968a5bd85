"""Bring a database to the newest schema with Alembic, safely from several processes at once."""

from __future__ import annotations

import pathlib

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from console.signing import ensure_keys

MIGRATIONS = pathlib.Path(__file__).with_name("migrations")
#: Arbitrary constant that names leakguard's schema lock among PostgreSQL advisory locks.
ADVISORY_LOCK_ID = 0x1EA6_6A4D


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def prepare_database(engine: Engine) -> None:
    """Upgrade to head and create missing keys, under a PostgreSQL advisory lock so that two
    `serve` processes starting together never race."""
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
            connection.commit()
        try:
            command.upgrade(alembic_config(connection), "head")
            connection.commit()
            with Session(bind=connection) as session:
                ensure_keys(session)
                _seed_alert_rules(session)
            connection.commit()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
                connection.commit()


def _seed_alert_rules(session: Session) -> None:
    from sqlmodel import select

    from console.alerts import default_rules
    from console.tables import AlertRule

    if session.exec(select(AlertRule)).first() is None:
        session.add_all(default_rules())
        session.commit()
