"""The schema comes only from migrations, and they agree with the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Model, db


def test_models_and_migrations_agree(portal_app):
    with portal_app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Model.metadata)
    assert differences == []


def test_the_app_does_not_create_tables(portal_app):
    assert portal_app.config["FAB_CREATE_DB"] is False


def test_demo_is_idempotent(demo_app):
    from demo import load_demo
    from models.accounts import Client, Contact
    from models.support import Ticket, TicketMessage

    def counts():
        return {model.__name__: db.session.query(model).count() for model in (Client, Contact, Ticket, TicketMessage)}

    with demo_app.app_context():
        before = counts()
        assert before["Ticket"] == 63
        load_demo()
        assert counts() == before
