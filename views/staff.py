"""Support as staff see it: the queue of their departments' tickets (a generated view) and
the ticket page where they reply, write internal notes and change status, priority,
department and assignee."""
from __future__ import annotations

import uuid

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.baseviews import BaseView
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import db
from models import support as ops
from models.errors import UserError
from models.support import (
    PRIORITY_LABELS,
    STATUS_LABELS,
    StaffDepartment,
    Ticket,
    TicketMessage,
)
from views.access import get_visible_ticket, staff_department_ids
from views.datamodel import PortalInterface
from views.formatting import local_datetime
from views.tickets import (
    active_departments,
    form_id,
    locale_code,
    submission_key,
    ticket_files,
)


class StaffTicketsView(ModelView):
    """The queue: tickets of the departments the staff member belongs to."""

    route_base = "/staff/tickets"
    datamodel = PortalInterface(Ticket)
    base_permissions = ["can_list"]
    base_filters = [["department_id", FilterInFunction, staff_department_ids]]
    base_order = ("updated_at", "desc")
    list_title = _l("Ticket queue")
    list_columns = ["number", "subject", "client", "department", "status", "priority", "assignee", "updated_at"]
    search_columns = ["number", "subject", "client", "department", "status", "priority", "assignee"]
    label_columns = {
        "number": _l("Number"), "subject": _l("Subject"), "client": _l("Client"), "department": _l("Department"),
        "status": _l("Status"), "priority": _l("Priority"), "assignee": _l("Assignee"),
        "updated_at": _l("Last update"),
    }
    formatters_columns = {
        "number": lambda number: _ticket_link(number),
        "status": lambda status: str(STATUS_LABELS.get(status, status)),
        "priority": lambda priority: str(PRIORITY_LABELS.get(priority, priority)),
        "updated_at": local_datetime,
        "assignee": lambda user: f"{user.first_name} {user.last_name}" if user else "",
    }
    page_size = 25


def _ticket_link(number):
    from markupsafe import Markup, escape

    return Markup(f'<a href="{url_for("StaffTicketView.ticket", number=number)}">#{escape(number)}</a>')


class StaffTicketView(BaseView):
    route_base = "/staff/ticket"

    @expose("/<number>")
    @has_access
    def ticket(self, number):
        return self._ticket_page(get_visible_ticket(number))

    def _ticket_page(self, ticket, draft: str = "", internal: bool = False, key: str | None = None,
                     status: int = 200):
        messages = db.session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
                                      .options(selectinload(TicketMessage.attachments))
                                      .order_by(TicketMessage.id)).all()
        html = self.render_template("staff/ticket.html", ticket=ticket, messages=messages, locale=locale_code(),
                                    statuses=STATUS_LABELS, priorities=PRIORITY_LABELS,
                                    departments=active_departments(), assignees=_staff_users(ticket.department_id),
                                    submission_key=key or uuid.uuid4().hex, draft=draft, internal=internal,
                                    extensions=current_app.config["ATTACHMENT_EXTENSIONS"],
                                    max_mb=current_app.config["ATTACHMENT_MAX_MB"])
        return html, status

    @expose("/<number>/reply", methods=["POST"])
    @has_access
    def reply(self, number):
        ticket = get_visible_ticket(number)
        internal = request.form.get("internal") == "1"
        key = submission_key(request.form.get("submission_key"))
        try:
            ops.reply(db.session, ticket, user_id=g.user.id, author_name=f"{g.user.first_name} {g.user.last_name}",
                      body=request.form.get("message", ""), from_staff=True, internal=internal,
                      files=ticket_files(), files_store=current_app.extensions["portal"].attachments,
                      submission_key=key, new_status=request.form.get("status") or None)
        except UserError as error:
            # Nothing was saved: the page again, with the reply as typed.
            flash(str(error), "danger")
            return self._ticket_page(get_visible_ticket(number), draft=request.form.get("message", ""),
                                     internal=internal, key=key, status=400)
        flash(_l("Internal note added.") if internal else _l("Reply sent to the client."), "success")
        return redirect(url_for("StaffTicketView.ticket", number=number))

    @expose("/<number>/update", methods=["POST"])
    @has_access
    def update(self, number):
        ticket = get_visible_ticket(number)
        form = request.form
        try:
            assignee = form.get("assignee_id", "")
            ops.staff_update(db.session, ticket, status=form.get("status") or None,
                             priority=form.get("priority") or None,
                             department_id=form_id(form.get("department_id"), _l("Choose a valid department.")),
                             assignee_id=form_id(assignee, _l("Choose a valid assignee.")),
                             unassign=assignee == "none")
        except UserError as error:
            flash(str(error), "danger")
            return redirect(url_for("StaffTicketView.ticket", number=number))
        flash(_l("Ticket updated."), "success")
        # Moving a ticket to a department one does not belong to takes it out of one's sight.
        if db.session.scalar(select(Ticket.id).where(Ticket.id == ticket.id,
                                                     Ticket.department_id.in_(staff_department_ids()))) is None:
            return redirect(url_for("StaffTicketsView.list"))
        return redirect(url_for("StaffTicketView.ticket", number=number))


def _staff_users(department_id: int):
    """Who may be assigned a ticket of the department: its active staff."""
    from flask_appbuilder.security.sqla.models import User

    return db.session.scalars(select(User).join(StaffDepartment, StaffDepartment.user_id == User.id)
                              .where(User.active.is_(True), StaffDepartment.department_id == department_id)
                              .order_by(User.first_name)).all()
