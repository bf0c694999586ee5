"""Tables and the invariants that belong to them, one module per area.

All tables share Flask-AppBuilder's declarative ``Model`` (and so its metadata, which
Alembic compares against in migrations/env.py).
"""
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA

# Sharing FAB's metadata makes db.metadata the one Alembic compares the models with.
db = SQLA(metadata=Model.metadata)

from models import accounts, billing, catalog, outbox, support  # noqa: E402,F401

__all__ = ["Model", "db", "accounts", "billing", "catalog", "outbox", "support"]
