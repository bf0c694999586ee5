"""The Portal application factory: ``create_app(config=None)`` runs the configure_* steps."""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import Flask, abort, redirect, request
from flask_appbuilder import AppBuilder
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

import config as default_config
from models import db
from models.files import AttachmentStore
from models.outbox import deliver_due
from plugins.manager import get_plugin_manager

log = logging.getLogger(__name__)
csrf = CSRFProtect()


class PortalState:
    """What the portal keeps per app: its plugins and the things built from them."""

    def __init__(self, app: Flask):
        self.app = app
        self.plugins = get_plugin_manager(app.config["PLUGINS"], app.config["PLUGIN_SETTINGS"])
        self.channels = {}
        for channels in self.plugins.hook.portal_register_notification_channels():
            for channel in channels:
                if channel.name in self.channels:
                    raise RuntimeError(f"two plugins register the notification channel {channel.name!r}")
                self.channels[channel.name] = channel
        missing = [name for name in app.config["NOTIFICATION_CHANNELS"] if name not in self.channels]
        if missing:
            raise RuntimeError(f"NOTIFICATION_CHANNELS names channels no plugin registers: {missing} "
                               f"(registered: {sorted(self.channels)})")
        self.attachments = AttachmentStore.from_config(app.config)

    def deliver_outbox(self, limit: int = 100) -> int:
        config = self.app.config
        return deliver_due(db.session, self.channels, max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
                           backoff_seconds=config["OUTBOX_BACKOFF_SECONDS"], limit=limit)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(default_config.INSTANCE_DIR))
    configure_settings(app, config)
    configure_logging(app)
    configure_database(app)
    configure_plugins(app)
    with app.app_context():
        configure_appbuilder(app)
        configure_views(app)
        configure_security(app)
        configure_templates(app)
        configure_cli(app)
        sync_database_definitions(app)
    return app


def configure_settings(app: Flask, overrides: dict | None) -> None:
    app.config.update(default_config.load_config(overrides))
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, every start


def configure_database(app: Flask) -> None:
    from flask_migrate import Migrate

    db.init_app(app)
    Migrate(app, db, directory=str(default_config.BASE_DIR / "migrations"), compare_type=True)


def configure_plugins(app: Flask) -> None:
    app.extensions["portal"] = PortalState(app)


def configure_appbuilder(app: Flask) -> None:
    from views.auth import PortalSecurityManager
    from views.home import PortalIndexView
    from views.roles import fab_roles

    app.config["FAB_ROLES"] = fab_roles()
    appbuilder = AppBuilder(base_template="base.html", indexview=PortalIndexView,
                            security_manager_class=PortalSecurityManager, update_perms=False)
    appbuilder.init_app(app, db.session)


def configure_views(app: Flask) -> None:
    from views import register_views

    register_views(app.appbuilder)


def configure_security(app: Flask) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)

    @app.before_request
    def check_csrf():
        # Every form post proves it came from our page. The REST API is exempt because
        # it accepts only bearer tokens (allow_browser_login is off), never the cookie.
        if (app.config["WTF_CSRF_ENABLED"] and request.method not in ("GET", "HEAD", "OPTIONS")
                and not request.path.startswith("/api/")):
            csrf.protect()

    # The REST API's log-in shares the forms' limit on password guessing.
    app.appbuilder.sm.limiter.limit(lambda: app.config["AUTH_RATE_LIMIT"], methods=["POST"])(
        app.blueprints["SecurityApi"])

    views_by_name = {view.__class__.__name__: view for view in app.appbuilder.baseviews}

    @app.before_request
    def unknown_action_is_not_found():
        # Flask-AppBuilder answers /<view>/action/<name>/<pk> with an error 500 when no action
        # has that name; it is simply a page that does not exist.
        if request.endpoint and request.endpoint.endswith(".action"):
            view = views_by_name.get(request.endpoint.split(".")[0])
            if view is None or request.view_args.get("name") not in getattr(view, "actions", {}):
                abort(404)

    @app.before_request
    def paging_parameters_are_numbers():
        # Flask-AppBuilder's generated lists raise an error 500 on ?page_<View>=abc; such a
        # link is dropped, the way the portal's own lists land on a real page.
        bad = [name for name, value in request.args.items(multi=True)
               if name.startswith(("page_", "psize_")) and not value.isdigit()]
        if bad and request.method == "GET":
            kept = [(name, value) for name, value in request.args.items(multi=True) if name not in bad]
            return redirect(request.path + ("?" + urlencode(kept) if kept else ""))
        return None

    from views.auth import end_stale_session

    app.before_request(end_stale_session)

    @app.after_request
    def security_headers(response):
        if current_user.is_authenticated:  # a signed-in page is never kept by the browser or a proxy
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    from views.errors import register_error_pages

    register_error_pages(app)


def configure_templates(app: Flask) -> None:
    from views.contacts import register_template_context
    from views.formatting import register_template_helpers

    register_template_helpers(app)
    register_template_context(app)


def configure_cli(app: Flask) -> None:
    from commands import portal_cli

    app.cli.add_command(portal_cli)


def schema_is_current() -> bool:
    """True when the database is migrated to the newest revision in migrations/."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(str(default_config.BASE_DIR / "migrations")).get_heads())
    try:
        with db.engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    except Exception:  # the database server may be unreachable while a CLI command runs
        log.exception("could not read the database's schema revision")
        return False


def sync_database_definitions(app: Flask) -> None:
    """Re-sync what lives in code as data: roles and permissions, plugin departments.

    Skipped (with a warning) before the first `flask db upgrade`, so that the migration
    commands themselves can run on an empty database.
    """
    if not schema_is_current():
        log.warning("database schema is missing; run `flask db upgrade`")
        return
    from views.roles import sync_roles
    from views.departments import sync_plugin_departments

    sync_roles(app.appbuilder)
    sync_plugin_departments(app)
