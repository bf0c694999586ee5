"""Portal defaults.

Every upper-case setting here can be overridden by an environment variable of the same
name prefixed with ``PORTAL_`` (``PORTAL_DATABASE_URL``, ``PORTAL_SMTP_PORT`` ...).
Values from the environment are parsed as JSON when they look like JSON (numbers,
booleans, lists, objects) and taken as plain strings otherwise; a list setting also takes
comma-separated names (PORTAL_PLUGINS=example,other). No secret lives here:
``SECRET_KEY`` comes from ``PORTAL_SECRET_KEY``, or, for the embedded default only, from a
random key created once in the instance folder.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", BASE_DIR / "instance"))

# --- Core -------------------------------------------------------------------------------
APP_NAME = "Portal"
COMPANY_NAME = "Portal"
# The URL the portal is reached at, used in e-mailed links (reset, confirm, ticket).
BASE_URL = "http://127.0.0.1:5000"
DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
SECRET_KEY = None  # resolved by load_config()
TESTING = False

# --- Language and time ----------------------------------------------------------------
DEFAULT_LOCALE = "es"
LANGUAGES = {
    "es": {"flag": "es", "name": "Español"},
    "en": {"flag": "gb", "name": "English"},
}
DEFAULT_TIMEZONE = "America/Bogota"
DEFAULT_CURRENCY = "COP"

# --- Security -----------------------------------------------------------------------------
# Rate limits per client address for log in, sign-up and forgotten password (POST only).
RATELIMIT_ENABLED = True
AUTH_RATE_LIMIT = "10 per minute"
# Behind a reverse proxy (gunicorn behind nginx ...), how many proxies set X-Forwarded-*:
# the client address (rate limits) and scheme are then read from those headers. 0 trusts none.
PROXY_COUNT = 0
# memory:// is right for one process; several web processes share redis://127.0.0.1:6379.
RATELIMIT_STORAGE_URI = "memory://"
PASSWORD_RESET_MAX_AGE = 3600  # seconds; the e-mailed link expires after one hour
EMAIL_CONFIRM_MAX_AGE = 3 * 24 * 3600
CONTACT_INVITATION_MAX_AGE = 7 * 24 * 3600  # the e-mailed invitation to a contact works once, for 7 days
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_DURATION = 30 * 24 * 3600
REMEMBER_COOKIE_HTTPONLY = True
# reCAPTCHA v2 on the ticket form and sign-up: both keys set turns it on.
RECAPTCHA_SITE_KEY = ""
RECAPTCHA_SECRET_KEY = ""
RECAPTCHA_VERIFY_URL = "https://www.google.com/recaptcha/api/siteverify"

# --- Support --------------------------------------------------------------------------------
ATTACHMENT_EXTENSIONS = [".jpg", ".gif", ".jpeg", ".png", ".pdf", ".doc", ".docx", ".xls", ".xlsx"]
ATTACHMENT_MAX_MB = 50  # per file, in MB (1 MB = 1024 * 1024 bytes), as the form says
ATTACHMENT_MAX_FILES = 10
ATTACHMENT_DIR = str(INSTANCE_DIR / "attachments")
TICKETS_PER_PAGE = 10

# --- E-mail ---------------------------------------------------------------------------------
SMTP_HOST = "127.0.0.1"
SMTP_PORT = 1025
SMTP_USER = ""
SMTP_PASSWORD = ""
SMTP_STARTTLS = False
SMTP_TIMEOUT = 10
MAIL_FROM = "Portal <no-reply@portal.test>"
# Deliver the outbox right after each commit in the web process (the embedded default).
# Set to false when `flask portal worker` processes run beside the web processes.
OUTBOX_DELIVER_AFTER_COMMIT = True
OUTBOX_MAX_ATTEMPTS = 8
OUTBOX_BACKOFF_SECONDS = 30  # first retry delay; doubles on each attempt

# --- Plugins --------------------------------------------------------------------------------
# External plugins to enable, in order: names of entry points in the `portal.plugins` group.
# The built-in plugins (plugins/builtin) are always enabled.
PLUGINS: list = []
# Per-plugin settings: {"plugin-name": {...}}; a value "env:NAME" is read from the environment.
PLUGIN_SETTINGS: dict = {}
# The channels every notification goes out through: names of registered notification
# channels (the built-in "email", or a plugin's). Each gets its own outbox row per recipient.
NOTIFICATION_CHANNELS: list = ["email"]

# --- Flask-AppBuilder -----------------------------------------------------------------------
AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False  # Portal has its own sign-up (views/auth.py)
FAB_UPDATE_PERMS = False  # permissions and roles are synced by app.configure_security
FAB_CREATE_DB = False  # Alembic migrations are the only way the schema is made
FAB_ADD_SECURITY_API = False
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_PERMISSION_VIEW = False
FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
FAB_PASSWORD_HASH_METHOD = "scrypt"
FAB_API_MAX_PAGE_SIZE = 100
APP_THEME = ""
# Flask-AppBuilder's generated views have a file download route; Portal's models have no
# file columns (attachments have their own authorized view), so this folder stays empty.
UPLOAD_FOLDER = str(INSTANCE_DIR / "fab-uploads")
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
JWT_ACCESS_TOKEN_EXPIRES = 3600


def _parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _instance_secret_key() -> str:
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(overrides: dict | None = None) -> dict:
    """Defaults, then PORTAL_* environment variables, then explicit overrides."""
    settings = {k: v for k, v in globals().items() if k.isupper()}
    for name, value in os.environ.items():
        key = name[len("PORTAL_"):]
        if name.startswith("PORTAL_") and key in settings:
            parsed = _parse(value)
            if isinstance(settings[key], list) and isinstance(parsed, str):
                parsed = [item.strip() for item in parsed.split(",") if item.strip()]  # a,b as well as ["a","b"]
            settings[key] = parsed
    settings.update(overrides or {})
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _instance_secret_key()
    # Names the frameworks read, derived from ours so there is one setting for each thing.
    settings["SQLALCHEMY_DATABASE_URI"] = settings["DATABASE_URL"]
    settings["BABEL_DEFAULT_LOCALE"] = settings["DEFAULT_LOCALE"]
    settings["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    settings["BABEL_TRANSLATION_DIRECTORIES"] = str(BASE_DIR / "translations")
    settings["MAX_CONTENT_LENGTH"] = (
        settings["ATTACHMENT_MAX_MB"] * 1024 * 1024 * settings["ATTACHMENT_MAX_FILES"] + 1024 * 1024
    )
    settings["AUTH_RATE_LIMITED"] = False  # our auth views apply AUTH_RATE_LIMIT themselves
    settings["RATELIMIT_HEADERS_ENABLED"] = True
    settings.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    return settings
