"""The administrators' back-office console (Flask-Admin, at /console): the notification
outbox (what was sent, what is waiting, what failed and why, with a retry) and the history
of company data changes."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from models import db
from models.accounts import ClientChange
from models.outbox import FAILED, PENDING, OutboxMessage
from models.timeutil import utcnow
from views.access import is_admin


class AdminOnly:
    """Every console page is for administrators; others are sent to log in or refused."""

    def is_accessible(self):
        return is_admin()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("PortalAuthView.login", next=request.full_path.rstrip("?")))
        abort(403)


class ConsoleHome(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        return redirect(url_for("outbox.index_view"))


class ConsoleModelView(AdminOnly, ModelView):
    form_base_class = FlaskForm  # the same CSRF token as the rest of the portal
    can_create = can_edit = can_delete = False
    can_view_details = True
    page_size = 50


class OutboxView(ConsoleModelView):
    column_list = ["id", "created_at", "channel", "recipient", "subject", "event", "status", "attempts",
                   "next_attempt_at", "sent_at", "last_error"]
    column_filters = ["status", "channel", "recipient", "event"]
    column_searchable_list = ["recipient", "subject", "event"]
    column_default_sort = ("id", True)
    column_labels = {"created_at": _l("Created"), "channel": _l("Channel"), "recipient": _l("Recipient"),
                     "subject": _l("Subject"), "event": _l("Event"), "status": _l("Status"),
                     "attempts": _l("Attempts"), "next_attempt_at": _l("Next attempt"), "sent_at": _l("Sent"),
                     "last_error": _l("Last error")}

    @action("retry", _l("Retry now"), _l("Send the selected failed messages again?"))
    def retry(self, ids):
        # Only failed messages: a pending one is retried by the workers on their own, and may
        # be in a worker's hands right now (retrying it here could send it twice).
        count = (db.session.query(OutboxMessage)
                 .filter(OutboxMessage.id.in_([int(i) for i in ids]), OutboxMessage.status == FAILED)
                 .update({"status": PENDING, "attempts": 0, "next_attempt_at": utcnow()},
                         synchronize_session=False))
        db.session.commit()
        flash(_l("%(n)s messages will be sent again.", n=count), "success")


class ClientChangeView(ConsoleModelView):
    column_list = ["changed_at", "client_id", "user", "field", "old_value", "new_value"]
    column_filters = ["client_id", "field"]
    column_default_sort = ("id", True)
    column_labels = {"changed_at": _l("When"), "client_id": _l("Client"), "user": _l("Who"), "field": _l("Field"),
                     "old_value": _l("Before"), "new_value": _l("After")}


def register_console(app) -> Admin:
    console = Admin(app, name=str(app.config["COMPANY_NAME"]), url="/console", endpoint="console",
                    index_view=ConsoleHome(url="/console", endpoint="console"), theme=Bootstrap4Theme())
    console.add_view(OutboxView(OutboxMessage, db, name=_l("Outbox"), endpoint="outbox"))
    console.add_view(ClientChangeView(ClientChange, db, name=_l("Company changes"),
                                      endpoint="client_changes"))
    return console
