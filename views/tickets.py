"""Support as clients see it: the ticket list, opening a ticket (department first, then the
form), the thread with its reply form, closing, and attachment downloads (clients and staff)."""
from __future__ import annotations

import math
import uuid

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.baseviews import BaseView
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models import db
from models import support as ops
from models.catalog import Service
from models.errors import UserError
from models.support import PRIORITY_LABELS, STATUS_LABELS, Attachment, Department, NewTicket, Ticket, TicketMessage
from views.access import get_visible_ticket, is_staff, require_scope, visible_tickets
from views.captcha import captcha_enabled, verify_captcha

SORTABLE = {"updated": Ticket.updated_at, "number": Ticket.number, "status": Ticket.status}


def parse_page(value, last_page: int) -> int:
    """Any page asked for lands on a real page: not a number, 0 or past the end included."""
    try:
        page = int(value)
    except (TypeError, ValueError):
        page = 1
    return min(max(page, 1), max(last_page, 1))


def active_departments():
    return db.session.scalars(select(Department).where(Department.active.is_(True))
                              .order_by(Department.sort_order, Department.id)).all()


def locale_code() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"])[:2]


def ticket_files():
    return request.files.getlist("attachments")


class ClientTicketsView(BaseView):
    route_base = "/support"
    default_view = "list"

    @expose("/tickets/")
    @has_access
    def list(self):
        membership = require_scope("tickets")
        per_page = current_app.config["TICKETS_PER_PAGE"]
        status = request.args.get("status", "")
        query = select(Ticket).where(Ticket.client_id == membership.client_id)
        if status in STATUS_LABELS:
            query = query.where(Ticket.status == status)
        else:
            status = ""
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
        last_page = max(math.ceil(total / per_page), 1)
        page = parse_page(request.args.get("page"), last_page)
        sort = request.args.get("sort", "updated")
        sort = sort if sort in SORTABLE else "updated"
        direction = "asc" if request.args.get("dir") == "asc" else "desc"
        order = SORTABLE[sort].asc() if direction == "asc" else SORTABLE[sort].desc()
        tickets = db.session.scalars(query.options(selectinload(Ticket.department)).order_by(order, Ticket.id.desc())
                                     .offset((page - 1) * per_page).limit(per_page)).all()
        first = (page - 1) * per_page + 1 if total else 0
        return self.render_template("tickets/list.html", tickets=tickets, total=total, page=page,
                                    last_page=last_page, first=first, last=first + len(tickets) - 1 if total else 0,
                                    status=status, statuses=STATUS_LABELS, sort=sort, direction=direction,
                                    locale=locale_code())

    @expose("/open/")
    @has_access
    def choose(self):
        require_scope("tickets")
        return self.render_template("tickets/choose.html", departments=active_departments(), locale=locale_code())

    @expose("/open/<slug>", methods=["GET", "POST"])
    @has_access
    def new(self, slug):
        membership = require_scope("tickets")
        department = db.session.scalar(select(Department).where(Department.slug == slug, Department.active.is_(True)))
        if department is None:
            abort(404)
        services = []
        if membership.has_scope("services"):
            services = db.session.scalars(select(Service).where(Service.client_id == membership.client_id)
                                          .order_by(Service.name)).all()
        form = request.form
        if request.method == "POST":
            try:
                if not verify_captcha():
                    raise UserError(_l("Confirm that you are not a robot."))
                ticket = ops.open_ticket(db.session, NewTicket(
                    client_id=membership.client_id,
                    department_id=form_id(form.get("department_id"), _l("Choose a valid department.")) or department.id,
                    name=membership.name, email=membership.email, user_id=g.user.id,
                    subject=form.get("subject", ""), body=form.get("message", ""),
                    priority=form.get("priority", ops.MEDIUM),
                    service_id=form_id(form.get("service_id"), _l("Choose one of your services.")),
                    submission_key=submission_key(form.get("submission_key")),
                    files=ticket_files(),
                ), current_app.extensions["portal"].attachments)
            except UserError as error:
                flash(str(error), "danger")
            else:
                flash(_l("Ticket %(number)s was opened. We will answer by e-mail; follow it here.",
                         number=ticket.display_number), "success")
                return redirect(url_for("ClientTicketsView.show", number=ticket.number))
        html = self.render_template(
            "tickets/new.html", department=department, departments=active_departments(), services=services,
            membership=membership, form=form, priorities=PRIORITY_LABELS, locale=locale_code(),
            submission_key=form.get("submission_key") or uuid.uuid4().hex, captcha=captcha_enabled(),
            extensions=current_app.config["ATTACHMENT_EXTENSIONS"], max_mb=current_app.config["ATTACHMENT_MAX_MB"])
        return html, 400 if request.method == "POST" else 200

    @expose("/tickets/<number>")
    @has_access
    def show(self, number):
        require_scope("tickets")
        return self._thread_page(get_visible_ticket(number))

    def _thread_page(self, ticket, draft: str = "", key: str | None = None, status: int = 200):
        """The thread and its reply form; after a refused reply, the typed text stays in it."""
        messages = db.session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id,
                                                                  TicketMessage.internal.is_(False))
                                      .options(selectinload(TicketMessage.attachments))
                                      .order_by(TicketMessage.id)).all()
        html = self.render_template("tickets/show.html", ticket=ticket, messages=messages, locale=locale_code(),
                                    submission_key=key or uuid.uuid4().hex, draft=draft,
                                    extensions=current_app.config["ATTACHMENT_EXTENSIONS"],
                                    max_mb=current_app.config["ATTACHMENT_MAX_MB"])
        return html, status

    @expose("/tickets/<number>/reply", methods=["POST"])
    @has_access
    def reply(self, number):
        membership = require_scope("tickets")
        ticket = get_visible_ticket(number)
        key = submission_key(request.form.get("submission_key"))
        try:
            ops.reply(db.session, ticket, user_id=g.user.id, author_name=membership.name,
                      body=request.form.get("message", ""), from_staff=False, files=ticket_files(),
                      files_store=current_app.extensions["portal"].attachments, submission_key=key)
        except UserError as error:
            # Nothing was saved: show the thread again with the message as typed (never lost).
            flash(str(error), "danger")
            return self._thread_page(get_visible_ticket(number), draft=request.form.get("message", ""), key=key,
                                     status=400)
        flash(_l("Your reply was added."), "success")
        return redirect(url_for("ClientTicketsView.show", number=number))

    @expose("/tickets/<number>/close", methods=["POST"])
    @has_access
    def close(self, number):
        require_scope("tickets")
        ops.close(db.session, get_visible_ticket(number))
        flash(_l("The ticket was closed. Reply to it if you need anything else."), "success")
        return redirect(url_for("ClientTicketsView.show", number=number))


class AttachmentView(BaseView):
    """Attachment downloads for anyone who may see the ticket (client or staff)."""

    route_base = "/attachments"

    @expose("/<int:attachment_id>")
    @has_access
    def download(self, attachment_id):
        if not is_staff():
            require_scope("tickets")
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None:
            abort(404)
        ticket = db.session.scalar(visible_tickets().where(Ticket.id == attachment.ticket_id))
        message = db.session.get(TicketMessage, attachment.message_id)
        if ticket is None or (message.internal and not is_staff()):
            abort(404)
        try:
            path = current_app.extensions["portal"].attachments.path(attachment.stored_name)
        except FileNotFoundError:
            abort(404)
        if not path.is_file():  # a row whose file is gone from the disk: 404, not an error page
            abort(404)
        response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                             download_name=attachment.original_name, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


def form_id(value, error):
    """An id chosen in a form: None when nothing ("" or "none") was chosen, the number when
    one was, and ``error`` (a UserError) for anything else."""
    if value in (None, "", "none"):
        return None
    if not str(value).isdigit():
        raise UserError(error)
    return int(value)


def submission_key(value):
    value = (value or "").strip()
    return value[:64] if value.isalnum() else None
