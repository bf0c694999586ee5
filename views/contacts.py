"""Contacts of a client account (issue 3): the page where the owner, or a membership with the
contacts scope, lists, creates, edits, disables, enables, removes and invites contacts; the
e-mailed invitation link; and the switch between the accounts a user belongs to.

Views stay thin: the operations are in models/accounts.py. Invitation links are signed
tokens like the sign-up and reset links (views/auth.py), built on BASE_URL; they carry the
contact's id and e-mail, expire after CONTACT_INVITATION_MAX_AGE seconds (7 days) and work
once (accepting links a user to the contact, and a linked contact accepts no invitation).
"""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.baseviews import BaseView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from models import db
from models.accounts import (
    SCOPES,
    Contact,
    accept_invitation,
    create_contact,
    invitation_problem,
    invite_contact,
    memberships_of,
    remove_contact,
    set_contact_active,
    update_contact,
    user_by_email,
)
from models.errors import UserError
from models.events import commit as commit_and_dispatch
from views.access import current_membership, has_client_scope, is_staff, require_scope
from views.auth import (
    PASSWORD_MIN,
    _email_link,
    _preference,
    _serializer,
    email_address,
    start_session,
)

_REQUIRED = _l("This field is required.")

# What each scope lets a contact see or do, as the contacts page shows it.
SCOPE_LABELS = {
    "profile": _l("Company profile"),
    "contacts": _l("Contacts"),
    "services": _l("Services"),
    "domains": _l("Domains"),
    "invoices": _l("Billing notices (view)"),
    "pay": _l("Pay billing notices"),
    "tickets": _l("Tickets"),
    "support_emails": _l("Support e-mails"),
    "billing_emails": _l("Billing e-mails"),
}
assert set(SCOPE_LABELS) == set(SCOPES), "every scope needs a label"


def invitation_max_age() -> int:
    return int(current_app.config["CONTACT_INVITATION_MAX_AGE"])


def invitation_link(contact: Contact) -> str:
    token = _serializer("invite").dumps({"c": contact.id, "e": contact.email})
    return _email_link("ContactInvitationView.accept", token=token)


class ScopesField(SelectMultipleField):
    """One checkbox per scope. Choices are not checked here: the operation refuses unknown
    scopes with a translated message."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_REQUIRED), email_address(), Length(max=320)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    position = StringField(_l("Position"), validators=[Length(max=100)])
    scopes = ScopesField(_l("Scopes"), validate_choice=False)
    invite = BooleanField(_l("Invite them to log in (an e-mailed link to choose a password)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes.choices = [(scope, SCOPE_LABELS[scope]) for scope in SCOPES]

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in ("name", "email", "phone", "position", "scopes")}


class ActionForm(FlaskForm):
    """The buttons that change something: only the CSRF token."""


class InvitationForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_REQUIRED), Length(min=PASSWORD_MIN, max=200, message=_l(
            "The password must have at least %(n)s characters.", n=PASSWORD_MIN))])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        EqualTo("password", _l("The passwords do not match."))])


def _invited_by() -> str:
    return f"{g.user.first_name} {g.user.last_name}".strip()


class ClientContactsView(BaseView):
    route_base = "/clientarea/contacts"
    default_view = "list"

    def _contact(self, pk: int) -> tuple[Contact, Contact]:
        """(the acting membership, the contact ``pk`` of its account): 403 without the
        contacts scope, 404 for another account's contact."""
        membership = require_scope("contacts")
        contact = db.session.scalar(select(Contact).where(Contact.id == pk,
                                                          Contact.client_id == membership.client_id))
        if contact is None:
            abort(404)
        return membership, contact

    def _back(self):
        return redirect(url_for("ClientContactsView.list"))

    @expose("/")
    @has_access
    def list(self):
        membership = require_scope("contacts")
        contacts = db.session.scalars(select(Contact).where(Contact.client_id == membership.client_id)
                                      .order_by(Contact.is_owner.desc(), Contact.name, Contact.id)).all()
        return self.render_template("contacts/list.html", contacts=contacts, client=membership.client,
                                    membership=membership, scope_labels=SCOPE_LABELS, action_form=ActionForm())

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def add(self):
        membership = require_scope("contacts")
        form = ContactForm()
        if form.validate_on_submit():
            try:
                contact = create_contact(db.session, membership.client_id, **form.values())
                if form.invite.data:
                    invite_contact(db.session, contact, url=invitation_link(contact), invited_by=_invited_by(),
                                   max_age_days=invitation_max_age() // 86400)
            except UserError as error:
                db.session.rollback()
                flash(str(error), "danger")
            else:
                commit_and_dispatch(db.session)
                flash(_l("%(name)s was invited by e-mail.", name=contact.name) if form.invite.data
                      else _l("Contact %(name)s added.", name=contact.name), "success")
                return self._back()
        return self.render_template("contacts/form.html", form=form, contact=None, client=membership.client)

    @expose("/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        membership, contact = self._contact(pk)
        if contact.is_owner:
            flash(_l("The account owner cannot be changed from this page."), "danger")
            return self._back()
        form = ContactForm(obj=contact)
        del form.invite
        if request.method == "GET":
            form.scopes.data = contact.scopes.split()
        if form.validate_on_submit():
            try:
                update_contact(db.session, contact, **form.values())
            except UserError as error:
                db.session.rollback()
                flash(str(error), "danger")
            else:
                db.session.commit()
                flash(_l("Contact %(name)s saved.", name=contact.name), "success")
                return self._back()
        return self.render_template("contacts/form.html", form=form, contact=contact, client=membership.client)

    def _act(self, pk, operation, done):
        membership, contact = self._contact(pk)
        if not ActionForm().validate_on_submit():
            abort(400)
        name = contact.name
        try:
            operation(membership, contact)
        except UserError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            commit_and_dispatch(db.session)
            flash(done(name), "success")
        return self._back()

    @expose("/<int:pk>/disable", methods=["POST"])
    @has_access
    def disable(self, pk):
        return self._act(pk, lambda me, c: set_contact_active(db.session, c, False, acting=me),
                         lambda name: _l("Contact %(name)s disabled.", name=name))

    @expose("/<int:pk>/enable", methods=["POST"])
    @has_access
    def enable(self, pk):
        return self._act(pk, lambda me, c: set_contact_active(db.session, c, True, acting=me),
                         lambda name: _l("Contact %(name)s enabled.", name=name))

    @expose("/<int:pk>/remove", methods=["POST"])
    @has_access
    def remove(self, pk):
        return self._act(pk, lambda me, c: remove_contact(db.session, c, acting=me),
                         lambda name: _l("Contact %(name)s removed.", name=name))

    @expose("/<int:pk>/invite", methods=["POST"])
    @has_access
    def invite(self, pk):
        return self._act(pk, lambda me, c: invite_contact(db.session, c, url=invitation_link(c),
                                                          invited_by=_invited_by(),
                                                          max_age_days=invitation_max_age() // 86400),
                         lambda name: _l("%(name)s was invited by e-mail.", name=name))


class AccountSwitchView(BaseView):
    """Act within another account the user is an active member of."""

    route_base = "/clientarea/account"

    @expose("/switch/", methods=["POST"])
    @has_access
    def switch(self):
        try:
            client_id = int(request.form.get("client_id", ""))
        except ValueError:
            abort(404)
        membership = next((m for m in memberships_of(db.session, g.user.id) if m.client_id == client_id), None)
        if membership is None:
            abort(404)
        session["client_id"] = client_id
        flash(_l("You are now working in %(client)s.", client=membership.client.company_name), "success")
        return redirect(url_for("ClientHomeView.home"))


class ContactInvitationView(BaseView):
    """The e-mailed invitation link (public: the signed token is the credential). A new person
    chooses a password; a person who already has a log-in must be signed in as that user and
    accept. A link that is tampered with, expired, used, or whose contact was removed, disabled or
    given another e-mail address answers 404 with a page that says so."""

    route_base = "/invitation"

    def _problem(self):
        return self.render_template("auth/message.html", title=_l("This link does not work"),
                                    message=_l("The link has expired or was already used. Ask for a new one.")), 404

    def _welcome(self, contact):
        session["client_id"] = contact.client_id
        flash(_l("Welcome to the client area of %(client)s.", client=contact.client.company_name), "success")
        return redirect(url_for("ClientHomeView.home"))

    @expose("/<token>", methods=["GET", "POST"])
    def accept(self, token):
        try:
            data = _serializer("invite").loads(token, max_age=invitation_max_age())
            contact = db.session.get(Contact, int(data["c"]))
            email = str(data["e"])
        except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
            return self._problem()
        if invitation_problem(contact, email):
            return self._problem()
        existing = user_by_email(db.session, email)
        if existing is not None:
            return self._link_existing(contact, existing)
        form = InvitationForm()
        if request.method == "GET":
            first, _, last = contact.name.partition(" ")
            form.first_name.data, form.last_name.data = first, last
        if form.validate_on_submit():
            sm = self.appbuilder.sm
            user = sm.add_user(username=email, first_name=form.first_name.data.strip(),
                               last_name=form.last_name.data.strip(), email=email, role=sm.find_role("Client"),
                               password=form.password.data, commit=False)
            if not user:  # the address got a log-in meanwhile (FAB rolled back): link that one instead
                return redirect(request.path)
            pref = _preference(user.id)
            pref.email_confirmed = True  # the e-mailed link proves the address
            pref.locale = str(session.get("locale") or current_app.config["DEFAULT_LOCALE"])
            try:
                accept_invitation(db.session, contact, user)
            except UserError:
                db.session.rollback()
                return self._problem()
            db.session.commit()
            start_session(user)
            return self._welcome(contact)
        return self.render_template("contacts/invitation.html", contact=contact, client=contact.client, form=form,
                                    mode="new")

    def _link_existing(self, contact, user):
        signed_in = current_user.is_authenticated
        if not signed_in or current_user.id != user.id:
            return self.render_template("contacts/invitation.html", contact=contact, client=contact.client,
                                        mode="login", other_user=signed_in, email=user.email,
                                        login_url=url_for("PortalAuthView.login", next=request.path))
        form = ActionForm()
        if form.validate_on_submit():
            try:
                accept_invitation(db.session, contact, current_user)
            except UserError as error:
                db.session.rollback()
                flash(str(error), "danger")
                return redirect(url_for("ClientHomeView.home"))
            db.session.commit()
            return self._welcome(contact)
        return self.render_template("contacts/invitation.html", contact=contact, client=contact.client,
                                    mode="accept", form=form)


def register_template_context(app) -> None:
    """The navigation bar's account switcher and contacts link need the user's memberships."""

    def accounts():
        if not current_user.is_authenticated or is_staff():
            return []
        return memberships_of(db.session, current_user.id)

    @app.context_processor
    def contacts_context():
        return {"portal_accounts": accounts, "portal_membership": current_membership,
                "portal_can": has_client_scope}
