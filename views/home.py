"""The entry page and the client area's dashboard ("Área del Cliente")."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import IndexView, expose, has_access
from flask_appbuilder.baseviews import BaseView
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from models import db
from models.accounts import EDITABLE_CLIENT_FIELDS, ClientChange, update_client
from models.billing import Invoice
from models.catalog import Domain, Service
from models.support import FINISHED_STATUSES, Ticket
from views.access import current_membership, is_staff, require_scope
from views.auth import email_address

RECENT_TICKETS = 5


class PortalIndexView(IndexView):
    """Send each person to their home: clients to the client area, staff to the queue."""

    @expose("/")
    def index(self):
        if not g.user or not g.user.is_authenticated:
            return redirect(url_for("PortalAuthView.login"))
        if is_staff():
            return redirect(url_for("StaffTicketsView.list"))
        return redirect(url_for("ClientHomeView.home"))


class CompanyForm(FlaskForm):
    company_name = StringField(_l("Company"), validators=[DataRequired(_l("This field is required.")),
                                                          Length(max=200)])
    tax_id = StringField(_l("Tax id (NIT)"), validators=[Length(max=40)])
    address = StringField(_l("Address"), validators=[Length(max=250)])
    city = StringField(_l("City"), validators=[Length(max=100)])
    country = StringField(_l("Country"), filters=[lambda value: (value or "").strip().upper()],
                          validators=[Regexp(r"^[A-Z]{2}$", message=_l(
                              "Write the country's two-letter code (CO, US, ES ...)."))])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), email_address(), Length(max=320)])
    legal_rep_name = StringField(_l("Legal representative"), validators=[Length(max=200)])
    legal_rep_id_number = StringField(_l("Legal representative's id number"), validators=[Length(max=40)])
    legal_rep_email = EmailField(_l("Legal representative's e-mail"), validators=[
        Optional(), email_address(), Length(max=320)])
    legal_rep_phone = StringField(_l("Legal representative's phone"), validators=[Length(max=40)])


class ClientHomeView(BaseView):
    route_base = "/clientarea"
    default_view = "home"

    @expose("/")
    @has_access
    def home(self):
        membership = current_membership()
        if membership is None:
            return self.render_template("client/no_account.html")
        client_id = membership.client_id
        counts = {}
        if membership.has_scope("services"):
            counts["services"] = db.session.scalar(select(func.count(Service.id)).where(Service.client_id == client_id))
        if membership.has_scope("domains"):
            counts["domains"] = db.session.scalar(select(func.count(Domain.id)).where(Domain.client_id == client_id))
        if membership.has_scope("tickets"):
            counts["tickets"] = db.session.scalar(select(func.count(Ticket.id)).where(
                Ticket.client_id == client_id, Ticket.status.not_in(FINISHED_STATUSES)))
        if membership.has_scope("invoices"):
            counts["invoices"] = db.session.scalar(select(func.count(Invoice.id)).where(
                Invoice.client_id == client_id, Invoice.status == "unpaid"))
        recent = []
        if membership.has_scope("tickets"):
            recent = db.session.scalars(select(Ticket).where(Ticket.client_id == client_id)
                                        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
                                        .limit(RECENT_TICKETS)).all()
        services = []
        if membership.has_scope("services"):
            services = db.session.scalars(select(Service).where(Service.client_id == client_id,
                                                                Service.status == "active")
                                          .order_by(Service.name)).all()
        return self.render_template("client/home.html", membership=membership, client=membership.client,
                                    counts=counts, recent=recent, services=services)

    @expose("/company/", methods=["GET", "POST"])
    @has_access
    def company(self):
        membership = require_scope("profile")
        client = membership.client
        form = CompanyForm(obj=client)
        if form.validate_on_submit():
            changes = update_client(db.session, client, {f: getattr(form, f).data for f in EDITABLE_CLIENT_FIELDS},
                                    g.user.id)
            db.session.commit()
            flash(_l("Company data saved.") if changes else _l("Nothing changed."), "success")
            return redirect(url_for("ClientHomeView.home"))
        history = db.session.scalars(select(ClientChange).where(ClientChange.client_id == client.id)
                                     .order_by(ClientChange.id.desc()).limit(50)).all()
        return self.render_template("client/company.html", form=form, client=client, history=history,
                                    is_owner=membership.is_owner, method=request.method)
