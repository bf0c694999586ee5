"""Pytest fixtures for Portal and for plugin authors (registered as the ``portal`` pytest11
plugin, so installing Portal makes them available to any test suite).

- ``portal_app_factory(**config)``: a Portal app on a migrated, empty database (SQLite in a
  temporary folder, or PostgreSQL when PORTAL_TEST_DATABASE_URL is set); every table is
  emptied after the test. ``portal_app`` is one with default test settings.
- ``portal_client``: a test client of ``portal_app``; ``login(client, email, password)``.
- ``smtp_server``: a real SMTP server (aiosmtpd) on loopback that keeps what it receives;
  apps made by the factory send to it when the test uses it.
- ``make_user(email, password, role, ...)``: a user, with a client account when the role is Client
  (``create_user(app, ...)`` does the same in an app of one's own).
- ``channel_contract(channel)``: checks a notification channel meets the interface.
"""
from __future__ import annotations

import os
import socket
import threading
from email import message_from_bytes, policy

import pytest
from sqlalchemy import create_engine, text

PRESERVED_TABLES = {"alembic_version", "ab_permission", "ab_view_menu", "ab_permission_view", "ab_role",
                    "ab_permission_view_role"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """Keeps every message it receives, parsed."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()
        self.received = threading.Condition(self._lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.received:
            self.messages.append(message)
            self.received.notify_all()
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address.lower() in m["To"].lower()]


class SmtpServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.sink = SmtpSink()
        self._controller = None

    @property
    def messages(self):
        return self.sink.messages

    def start(self):
        from aiosmtpd.controller import Controller

        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


def _migrated_database_url(base_dir) -> str:
    from flask_migrate import upgrade

    from app import create_app

    url = os.environ.get("PORTAL_TEST_DATABASE_URL") or f"sqlite:///{base_dir / 'portal-test.db'}"
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as connection:  # start from nothing, whatever a previous run left
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    return url


@pytest.fixture(scope="session")
def portal_database_url(tmp_path_factory):
    return _migrated_database_url(tmp_path_factory.mktemp("db"))


def _empty_tables(url: str) -> None:
    from models import Model

    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(Model.metadata.sorted_tables):
            if table.name not in PRESERVED_TABLES:
                connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def portal_app_factory(portal_database_url, tmp_path, request):
    """Build apps on the test database; config overrides are keyword arguments."""
    from app import create_app
    from models import db

    smtp_port = request.getfixturevalue("smtp_server").port if "smtp_server" in request.fixturenames \
        else free_port()  # nothing listens there: delivery fails and is retried, as with SMTP down
    apps = []

    def make(**overrides):
        config = {
            "TESTING": True,
            "DATABASE_URL": portal_database_url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "ATTACHMENT_DIR": str(tmp_path / "attachments"),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_port,
            "SMTP_TIMEOUT": 5,
            "BASE_URL": "http://portal.test",
            "SERVER_NAME": "portal.test",
            "AUTH_RATE_LIMIT": "1000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            # Hashing is deliberately slow in production (scrypt); tests log in hundreds of times.
            "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    _empty_tables(portal_database_url)


@pytest.fixture
def portal_app(portal_app_factory):
    return portal_app_factory()


@pytest.fixture
def portal_client(portal_app):
    return portal_app.test_client()


def login(client, email: str, password: str, remember: bool = False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login/", data=data)


def create_user(app, email, password="secret-pass", role="Client", first_name="Test", last_name="User",
                client=None, scopes="", owner=True):
    """Create a confirmed user in ``app``; a Client gets a client account it owns (or joins
    ``client``, an id). Returns (user_id, client_id)."""
    from models import db
    from models.accounts import Client, Contact, UserPreference

    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(username=email.lower(), first_name=first_name, last_name=last_name,
                           email=email.lower(), role=sm.find_role(role), password=password)
        assert user, f"could not create {email}"
        db.session.add(UserPreference(user_id=user.id, email_confirmed=True))
        client_id = client.id if hasattr(client, "id") else client
        if role == "Client":
            if client_id is None:
                account = Client(company_name=f"{first_name} {last_name} S.A.S.", email=email)
                db.session.add(account)
                db.session.flush()
                client_id = account.id
            db.session.add(Contact(client_id=client_id, user_id=user.id, name=f"{first_name} {last_name}",
                                   email=email.lower(), is_owner=owner, scopes=scopes))
        db.session.commit()
        return user.id, client_id


@pytest.fixture
def make_user(portal_app):
    """``create_user`` in ``portal_app``."""

    def make(email, password="secret-pass", role="Client", **kwargs):
        return create_user(portal_app, email, password, role, **kwargs)

    return make


def channel_contract(channel) -> None:
    """What every notification channel must offer (reuse in a channel plugin's tests)."""
    assert isinstance(channel.name, str) and channel.name, "a channel needs a non-empty name"
    assert callable(getattr(channel, "send", None)), "a channel needs send(message)"
