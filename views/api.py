"""REST API (/api/v1/...), JWT from /api/v1/security/login, restricted exactly like the
pages: the same row rules (views/access.py) and the same ticket operations."""
from __future__ import annotations

from flask import current_app, g, request
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from models import db
from models import support as ops
from models.catalog import Domain, Service
from models.errors import UserError
from models.support import PRIORITY_LABELS, Department, NewTicket, Ticket, TicketMessage
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


class ScopedApi(ModelRestApi):
    """Read-only API over one account's rows; staff read everyone's."""

    scope = ""
    base_permissions = ["can_get", "can_info"]

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)

        @blueprint.before_request
        def check_scope():
            # Authentication is checked by @protect; the scope is checked here so that a
            # membership without it answers 403, as the pages do.
            user = current_user if current_user.is_authenticated else None
            if user is None or is_staff():
                return None
            membership = current_membership()
            if membership is None or not membership.has_scope(self.scope):
                return self.response_403()
            return None

        return blueprint


class ServiceApi(ScopedApi):
    resource_name = "services"
    scope = "services"
    datamodel = SQLAInterface(Service)
    base_filters = [["client_id", FilterAccountRows, "services"]]
    list_columns = show_columns = ["id", "name", "status", "billing_cycle", "amount", "currency", "next_due_date",
                                   "department_slug"]


class DomainApi(ScopedApi):
    resource_name = "domains"
    scope = "domains"
    datamodel = SQLAInterface(Domain)
    base_filters = [["client_id", FilterAccountRows, "domains"]]
    list_columns = show_columns = ["id", "name", "status", "registered_on", "expires_on", "auto_renew"]


class DepartmentApi(ModelRestApi):
    resource_name = "departments"
    datamodel = SQLAInterface(Department)
    base_permissions = ["can_get", "can_info"]
    base_filters = [["active", FilterEqual, True]]
    list_columns = show_columns = ["id", "slug", "name_es", "name_en", "description_es", "description_en",
                                   "active"]


class NewTicketSchema(Schema):
    department = fields.String(required=True)  # the department's slug
    subject = fields.String(required=True, validate=validate.Length(min=1, max=ops.SUBJECT_MAX))
    message = fields.String(required=True, validate=validate.Length(min=1, max=ops.BODY_MAX))
    priority = fields.String(load_default=ops.MEDIUM, validate=validate.OneOf(list(PRIORITY_LABELS)))
    service_id = fields.Integer(load_default=None, allow_none=True)
    submission_key = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Regexp(r"^[A-Za-z0-9]{1,64}$"))


class ReplySchema(Schema):
    message = fields.String(required=True, validate=validate.Length(min=1, max=ops.BODY_MAX))
    internal = fields.Boolean(load_default=False)
    submission_key = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Regexp(r"^[A-Za-z0-9]{1,64}$"))


class TicketApi(ModelRestApi):
    resource_name = "tickets"
    datamodel = SQLAInterface(Ticket)
    base_permissions = ["can_get", "can_info", "can_post", "can_reply", "can_messages"]
    base_filters = [["id", FilterVisibleTickets, None]]
    list_columns = ["id", "number", "subject", "status", "priority", "department.slug", "updated_at"]
    show_columns = ["id", "number", "subject", "status", "priority", "department.slug", "service_id", "name",
                    "email", "created_at", "updated_at"]
    order_columns = ["updated_at", "number", "status"]
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
            data = NewTicketSchema().load(request.get_json(silent=True) or {})
        except ValidationError as err:
            return self.response_422(message=err.messages)
        department = db.session.query(Department).filter_by(slug=data["department"], active=True).one_or_none()
        if department is None:
            return self.response_422(message={"department": ["unknown department"]})
        try:
            ticket = ops.open_ticket(db.session, NewTicket(
                client_id=membership.client_id, department_id=department.id, name=membership.name,
                email=membership.email, subject=data["subject"], body=data["message"], priority=data["priority"],
                service_id=data["service_id"], user_id=g.user.id, submission_key=data["submission_key"]),
                current_app.extensions["portal"].attachments)
        except UserError as error:
            return self.response_422(message=str(error))
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
                    internal: {type: boolean}
                    submission_key: {type: string}
          responses:
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
            data = ReplySchema().load(request.get_json(silent=True) or {})
        except ValidationError as err:
            return self.response_422(message=err.messages)
        staff = is_staff()
        author = f"{g.user.first_name} {g.user.last_name}" if staff else current_membership().name
        try:
            message = ops.reply(db.session, ticket, user_id=g.user.id, author_name=author, body=data["message"],
                                from_staff=staff, internal=data["internal"] and staff,
                                submission_key=data["submission_key"])
        except UserError as error:
            return self.response_422(message=str(error))
        return self.response(201, id=message.id, status=ticket.status)
