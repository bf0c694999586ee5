"""REST API (/api/v1/...), JWT from /api/v1/security/login, restricted exactly like the
pages: the same row rules (views/access.py) and the same ticket operations.

The API's user is the one the bearer token names, never the browser session's (the
``allow_browser_login`` of Flask-AppBuilder stays off): before each request the token, when
there is one, is made the request's ``current_user`` (without writing the session), so the
row rules in views/access.py, which read ``current_user``, see the token's user. Without a
token the request is anonymous and ``@protect`` answers 401.
"""
from __future__ import annotations

import hashlib

from flask import current_app, g, request
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from models import db
from models import support as ops
from models.catalog import Domain, Service
from models.errors import UserError
from models.support import PRIORITY_LABELS, STATUS_LABELS, Department, NewTicket, Ticket, TicketMessage
from views.access import client_rows_filter, current_membership, is_staff, visible_tickets


class FilterVisibleTickets(BaseFilter):
    name = "Tickets the user may see"
    arg_name = "visible"

    def apply(self, query, value):
        return query.filter(Ticket.id.in_(visible_tickets().with_only_columns(Ticket.id)))


class FilterAccountRows(BaseFilter):
    name = "Rows of the user's account"
    arg_name = "account"

    def apply(self, query, scope):
        return query.filter(client_rows_filter(self.model, scope))


def use_token_identity() -> None:
    """Make the bearer token's user the request's user (or nobody, without a valid token).

    A browser session cookie sent along is ignored: the API never acts as the cookie's user.
    An invalid or expired token leaves the request anonymous; ``@protect`` then verifies the
    token again and answers 401 with the reason.
    """
    user = None
    try:
        if verify_jwt_in_request(optional=True) is not None:
            user = get_current_user()
    except Exception:  # bad token: anonymous here, 401 from @protect
        user = None
    if user is None or not user.is_active:
        user = current_app.login_manager.anonymous_user()
    g._login_user = user  # what flask_login's current_user returns for this request
    g.user = user
    g.pop("portal_membership", None)


class PortalApi(ModelRestApi):
    """A generated REST API whose caller is the token's user.

    ``/_info`` describes only the columns a caller may actually send: Flask-AppBuilder would
    otherwise list the add and edit columns even of a read-only API, with the possible values
    of every related column (every client, user and ticket message in the database), to
    anyone allowed to call ``_info``.
    """

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(use_token_identity)
        blueprint.before_request(self.check_scope)
        return blueprint

    scope = ""  # the membership scope a client needs for this API ("" for none)

    def check_scope(self):
        # Authentication is checked by @protect (401 without a token); a client whose
        # membership lacks the scope answers 403, as the pages do. Staff pass: their rows
        # are limited by department.
        if not self.scope or not current_user.is_authenticated or is_staff():
            return None
        membership = current_membership()
        if membership is None or not membership.has_scope(self.scope):
            return self.response_403()
        return None

    def _get_fields_info(self, cols, model_schema, filter_rel_fields, **kwargs):
        if model_schema is self.add_model_schema and "can_post" not in self.base_permissions:
            return []
        if model_schema is self.edit_model_schema and "can_put" not in self.base_permissions:
            return []
        return super()._get_fields_info(cols, model_schema, filter_rel_fields, **kwargs)

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        # gettext("") would answer the catalog's header
        if not self.description_columns.get(field.name):
            info["description"] = ""
        if not self.label_columns.get(field.name):
            info["label"] = self._prettify_column(field.name)
        return info


READ_ONLY_ROUTES = {"get", "get_list", "info"}


class ScopedApi(PortalApi):
    """Read-only API over one account's rows; staff read everyone's."""

    base_permissions = ["can_get", "can_info"]
    include_route_methods = READ_ONLY_ROUTES  # unused writes are not routes (nor in the OpenAPI spec)


class ServiceApi(ScopedApi):
    resource_name = "services"
    scope = "services"
    datamodel = SQLAInterface(Service)
    base_filters = [["client_id", FilterAccountRows, "services"]]
    list_columns = show_columns = ["id", "name", "status", "billing_cycle", "amount", "currency", "next_due_date",
                                   "department_slug"]
    search_columns = ["name", "status", "department_slug"]


class DomainApi(ScopedApi):
    resource_name = "domains"
    scope = "domains"
    datamodel = SQLAInterface(Domain)
    base_filters = [["client_id", FilterAccountRows, "domains"]]
    list_columns = show_columns = ["id", "name", "status", "registered_on", "expires_on", "auto_renew"]
    search_columns = ["name", "status"]


class DepartmentApi(PortalApi):
    resource_name = "departments"
    datamodel = SQLAInterface(Department)
    base_permissions = ["can_get", "can_info"]
    include_route_methods = READ_ONLY_ROUTES  # unused writes are not routes (nor in the OpenAPI spec)
    base_filters = [["active", FilterEqual, True]]
    list_columns = show_columns = ["id", "slug", "name_es", "name_en", "description_es", "description_en",
                                   "active"]
    search_columns = ["slug"]
    base_order = ("sort_order", "asc")


KEY_PATTERN = r"^[A-Za-z0-9]{1,64}$"


def _not_blank(value: str) -> bool:
    if not value.strip():
        raise ValidationError(str(_l("This field is required.")))
    return True


class NewTicketSchema(Schema):
    department = fields.String(required=True)  # the department's slug
    subject = fields.String(required=True, validate=[validate.Length(min=1, max=ops.SUBJECT_MAX), _not_blank])
    message = fields.String(required=True, validate=[validate.Length(min=1, max=ops.BODY_MAX), _not_blank])
    priority = fields.String(load_default=ops.MEDIUM, validate=validate.OneOf(list(PRIORITY_LABELS)))
    service_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    submission_key = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(KEY_PATTERN))


class ReplySchema(Schema):
    message = fields.String(required=True, validate=[validate.Length(min=1, max=ops.BODY_MAX), _not_blank])
    internal = fields.Boolean(load_default=False)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(STATUS_LABELS)))
    submission_key = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(KEY_PATTERN))


def caller_key(key: str | None, purpose: str) -> str | None:
    """The caller's submission key, made the caller's own.

    Keys are unique across the whole database, and the ticket operations answer a repeated
    key with the row it made first; namespacing by user keeps one client's key from ever
    returning another client's ticket or message (64 hex characters, the column's size).
    """
    if not key:
        return None
    return hashlib.sha256(f"api:{g.user.id}:{purpose}:{key}".encode()).hexdigest()


def _json_body() -> dict:
    data = request.get_json(silent=True)
    return data if data is not None else {}


class TicketApi(PortalApi):
    resource_name = "tickets"
    scope = "tickets"
    datamodel = SQLAInterface(Ticket)
    base_permissions = ["can_get", "can_info", "can_post", "can_reply", "can_messages"]
    include_route_methods = READ_ONLY_ROUTES | {"post", "reply", "messages"}
    base_filters = [["id", FilterVisibleTickets, None]]
    base_order = ("updated_at", "desc")
    list_columns = ["id", "number", "subject", "status", "priority", "department.slug", "updated_at"]
    show_columns = ["id", "number", "subject", "status", "priority", "department.slug", "service_id", "name",
                    "email", "created_at", "updated_at"]
    order_columns = ["updated_at", "number", "status"]
    search_columns = ["number", "subject", "status", "priority"]
    label_columns = {"number": _l("Number"), "subject": _l("Subject"), "status": _l("Status"),
                     "priority": _l("Priority"), "department": _l("Department"), "department.slug": _l("Department"),
                     "updated_at": _l("Last update"), "message": _l("Message"), "service_id": _l("Related service")}
    # What POST / takes (described by /_info and the OpenAPI spec).
    add_model_schema = NewTicketSchema()
    add_columns = list(NewTicketSchema().fields)
    openapi_spec_methods = {"post": {"post": {"description": "Open a ticket (clients)."}}}

    def _visible(self, pk):
        return db.session.scalar(visible_tickets().where(Ticket.id == pk))

    @expose("/", methods=["POST"])
    @protect()
    @safe
    def post(self):
        """Open a ticket as the signed-in client.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    department: {type: string}
                    subject: {type: string}
                    message: {type: string}
                    priority: {type: string, enum: [high, medium, low]}
                    service_id: {type: integer}
                    submission_key: {type: string}
          responses:
            200:
              description: This submission_key already opened a ticket; it is that one
            201:
              description: The ticket was opened
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            422:
              $ref: '#/components/responses/422'
        """
        membership = current_membership()
        if membership is None or not membership.has_scope("tickets"):
            return self.response_403()
        try:
            data = NewTicketSchema().load(_json_body())
        except ValidationError as err:
            return self.response_422(message=err.messages)
        department = db.session.scalar(select(Department).where(Department.slug == data["department"],
                                                                Department.active.is_(True)))
        if department is None:
            return self.response_422(message={"department": [str(_l("Choose a valid department."))]})
        if data["service_id"] is not None:
            service = db.session.get(Service, data["service_id"])
            if service is None or service.client_id != membership.client_id:
                return self.response_422(message={"service_id": [str(_l("Choose one of your services."))]})
        key = caller_key(data["submission_key"], "ticket")
        if key is not None:
            existing = db.session.scalar(select(Ticket).where(Ticket.submission_key == key))
            if existing is not None:  # the same submission again: the ticket it opened
                return self.response(200, id=existing.id, number=existing.number, status=existing.status)
        try:
            ticket = ops.open_ticket(db.session, NewTicket(
                client_id=membership.client_id, department_id=department.id, name=membership.name,
                email=membership.email, subject=data["subject"], body=data["message"], priority=data["priority"],
                service_id=data["service_id"], user_id=g.user.id, submission_key=key),
                current_app.extensions["portal"].attachments)
        except UserError as error:
            return self.response_422(message={"_schema": [str(error)]})
        return self.response(201, id=ticket.id, number=ticket.number, status=ticket.status)

    @expose("/<int:pk>/messages", methods=["GET"])
    @protect()
    @safe
    def messages(self, pk):
        """The ticket's thread (internal notes only for staff).
        ---
        get:
          parameters:
          - in: path
            schema: {type: integer}
            name: pk
          responses:
            200:
              description: The messages, oldest first
            404:
              $ref: '#/components/responses/404'
        """
        ticket = self._visible(pk)
        if ticket is None:
            return self.response_404()
        query = db.session.query(TicketMessage).filter(TicketMessage.ticket_id == ticket.id)
        if not is_staff():
            query = query.filter(TicketMessage.internal.is_(False))
        result = [{"id": m.id, "author": m.author_name, "body": m.body, "from_staff": m.from_staff,
                   "internal": m.internal, "created_at": m.created_at.isoformat() + "Z",
                   "attachments": [{"id": a.id, "name": a.original_name, "size": a.size} for a in m.attachments]}
                  for m in query.order_by(TicketMessage.id)]
        return self.response(200, result=result)

    @expose("/<int:pk>/reply", methods=["POST"])
    @protect()
    @safe
    def reply(self, pk):
        """Add a reply (clients and staff) or an internal note (staff).
        ---
        post:
          parameters:
          - in: path
            schema: {type: integer}
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    message: {type: string}
                    internal: {type: boolean, description: "staff only: a note clients never see"}
                    status: {type: string, description: "staff only: the ticket's new status"}
                    submission_key: {type: string}
          responses:
            200:
              description: This submission_key already added a message; it is that one
            201:
              description: The message was added
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        ticket = self._visible(pk)
        if ticket is None:
            return self.response_404()
        try:
            data = ReplySchema().load(_json_body())
        except ValidationError as err:
            return self.response_422(message=err.messages)
        staff = is_staff()
        if not staff:
            membership = current_membership()
            if data["internal"]:
                return self.response_422(message={"internal": [str(_l("Only staff can write internal notes."))]})
            if data["status"] is not None:
                return self.response_422(message={"status": [str(_l("Choose a valid status."))]})
            author = membership.name
        else:
            author = f"{g.user.first_name} {g.user.last_name}"
        key = caller_key(data["submission_key"], f"reply:{ticket.id}")
        if key is not None:
            existing = db.session.scalar(select(TicketMessage).where(TicketMessage.submission_key == key))
            if existing is not None:  # the same submission again: the message it added
                return self.response(200, id=existing.id, status=ticket.status)
        try:
            message = ops.reply(db.session, ticket, user_id=g.user.id, author_name=author, body=data["message"],
                                from_staff=staff, internal=data["internal"], submission_key=key,
                                new_status=data["status"])
        except UserError as error:
            return self.response_422(message={"_schema": [str(error)]})
        return self.response(201, id=message.id, status=ticket.status)
