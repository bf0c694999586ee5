"""Client accounts, their contacts (memberships with scopes) and the history of changes."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.errors import UserError
from models.timeutil import utcnow

# What a membership can be allowed to see or do. The owner has them all.
SCOPES = (
    "profile",
    "contacts",
    "services",
    "domains",
    "invoices",
    "pay",
    "tickets",
    "support_emails",
    "billing_emails",
)

# Company fields a client may edit from the dashboard's "Update" button; each change is
# recorded in ClientChange with who and when.
EDITABLE_CLIENT_FIELDS = (
    "company_name",
    "tax_id",
    "address",
    "city",
    "country",
    "phone",
    "email",
    "legal_rep_name",
    "legal_rep_id_number",
    "legal_rep_email",
    "legal_rep_phone",
)


class Client(Model):
    """A client company: the account its users and contacts belong to."""
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200), nullable=False)
    tax_id: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    address: Mapped[str] = mapped_column(String(250), default="", nullable=False)
    city: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    country: Mapped[str] = mapped_column(String(2), default="CO", nullable=False)
    phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    email: Mapped[str] = mapped_column(String(320), default="", nullable=False)
    legal_rep_name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    legal_rep_id_number: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    legal_rep_email: Mapped[str] = mapped_column(String(320), default="", nullable=False)
    legal_rep_phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="COP", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    contacts = relationship("Contact", back_populates="client", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return self.company_name


class Contact(Model):
    """A person of a client account. With a user it is a membership (a login to the
    portal, scoped); without one it only receives the e-mails its scopes allow."""
    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("client_id", "user_id", name="uq_contact_client_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    position: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Space-separated subset of SCOPES; ignored for the owner, who has every scope.
    scopes: Mapped[str] = mapped_column(String(250), default="", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    client = relationship("Client", back_populates="contacts")
    user = relationship("User")

    def has_scope(self, scope: str) -> bool:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        return self.active and (self.is_owner or scope in self.scopes.split())

    def __repr__(self) -> str:
        return self.name


class ClientChange(Model):
    """One field of a client company changed by someone, at some time."""
    __tablename__ = "client_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    field: Mapped[str] = mapped_column(String(50), nullable=False)
    old_value: Mapped[str] = mapped_column(Text, default="", nullable=False)
    new_value: Mapped[str] = mapped_column(Text, default="", nullable=False)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    user = relationship("User")


class UserPreference(Model):
    """Per-user settings FAB's user table has no room for."""
    __tablename__ = "user_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    locale: Mapped[Optional[str]] = mapped_column(String(5), nullable=True)
    timezone: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    email_confirmed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


def memberships_of(session, user_id: int) -> list[Contact]:
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.user_id == user_id, Contact.active.is_(True))
            .order_by(Contact.is_owner.desc(), Contact.id)
        )
    )


def update_client(session, client: Client, changes: dict, user_id: int | None) -> list[ClientChange]:
    """Apply edits to the editable company fields, recording each real change."""
    recorded = []
    for field, new in changes.items():
        if field not in EDITABLE_CLIENT_FIELDS:
            raise ValueError(f"{field} is not editable")
        new = (new or "").strip()
        old = getattr(client, field) or ""
        if new != old:
            setattr(client, field, new)
            change = ClientChange(client_id=client.id, user_id=user_id, field=field, old_value=old, new_value=new)
            session.add(change)
            recorded.append(change)
    return recorded


# --- Contacts (issue 3) --------------------------------------------------------------------
# The operations the contacts page (and any API, CLI or plugin) calls. They check everything
# before they change anything: a refused input raises UserError (a translated message) and
# leaves the session untouched. The caller commits (models.events.commit for invitations, so
# the e-mail is delivered after the commit).

CONTACT_TEXT_LIMITS = {"name": 200, "email": 320, "phone": 40, "position": 100}
CONTACT_LABELS = {"name": _l("Name"), "email": _l("E-mail address"), "phone": _l("Phone"), "position": _l("Position")}


def _contact_fields(session, client_id: int, data: dict, contact: Contact | None = None) -> dict:
    """Clean and check the fields of a contact; raise UserError for the first problem."""
    from email_validator import EmailNotValidError, validate_email

    fields = {name: " ".join(str(data.get(name) or "").split()) for name in CONTACT_TEXT_LIMITS}
    fields["email"] = fields["email"].lower()
    if not fields["name"]:
        raise UserError(_l("Write the contact's name."))
    if not fields["email"]:
        raise UserError(_l("Write the contact's e-mail address."))
    for name, limit in CONTACT_TEXT_LIMITS.items():
        if len(fields[name]) > limit:
            raise UserError(_l("%(field)s is too long (at most %(n)s characters).", field=CONTACT_LABELS[name], n=limit))
    try:
        validate_email(fields["email"], check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise UserError(_l("Write a valid e-mail address.")) from None
    scopes = list(dict.fromkeys(data.get("scopes") or ()))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise UserError(_l("Unknown scopes: %(scopes)s. Use: %(known)s.", scopes=" ".join(unknown),
                           known=" ".join(SCOPES)))
    fields["scopes"] = " ".join(scope for scope in SCOPES if scope in scopes)  # in SCOPES' order
    taken = select(Contact.id).where(Contact.client_id == client_id, func.lower(Contact.email) == fields["email"])
    if contact is not None:
        taken = taken.where(Contact.id != contact.id)
    if session.scalar(taken) is not None:
        raise UserError(_l("This account already has a contact with the e-mail address %(email)s.",
                           email=fields["email"]))
    return fields


def _editable(contact: Contact) -> None:
    if contact.is_owner:
        raise UserError(_l("The account owner cannot be changed from this page."))


def create_contact(session, client_id: int, **data) -> Contact:
    """A new contact of ``client_id`` (name, email, phone, position, scopes: an iterable)."""
    contact = Contact(client_id=client_id, is_owner=False, active=True, **_contact_fields(session, client_id, data))
    session.add(contact)
    session.flush()
    return contact


def update_contact(session, contact: Contact, **data) -> Contact:
    """Replace a contact's name, e-mail, phone, position and scopes (not the owner's)."""
    _editable(contact)
    for name, value in _contact_fields(session, contact.client_id, data, contact).items():
        setattr(contact, name, value)
    return contact


def set_contact_active(session, contact: Contact, active: bool, acting: Contact | None = None) -> Contact:
    """Disable (no log-in to this account, no e-mails) or enable a contact again."""
    _editable(contact)
    if not active and acting is not None and acting.id == contact.id:
        raise UserError(_l("You cannot disable yourself."))
    contact.active = bool(active)
    return contact


def remove_contact(session, contact: Contact, acting: Contact | None = None) -> None:
    """Delete a contact. A user it linked keeps their log-in and their other accounts."""
    _editable(contact)
    if acting is not None and acting.id == contact.id:
        raise UserError(_l("You cannot remove yourself."))
    session.delete(contact)
    session.flush()


def user_by_email(session, email: str):
    from flask_appbuilder.security.sqla.models import User

    return session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))


def invite_contact(session, contact: Contact, *, url: str, invited_by: str, max_age_days: int) -> None:
    """Queue the invitation e-mail (in this transaction) with the link ``url`` that lets the
    contact set a password, or, when a user with that e-mail exists, link that user."""
    from models import events, notifications

    _editable(contact)
    if contact.user_id is not None:
        raise UserError(_l("%(name)s can already log in.", name=contact.name))
    if not contact.active:
        raise UserError(_l("Enable the contact before inviting them."))
    existing = user_by_email(session, contact.email)
    notifications.enqueue(
        session, recipient=notifications.Recipient(contact.email, existing.id if existing else None, contact.name),
        template="contact_invitation", subject=_l("You are invited to the client area of %(client)s",
                                                  client=contact.client.company_name),
        event=f"contact.invited:{contact.id}", contact=contact, client=contact.client, url=url,
        invited_by=invited_by, existing_user=existing is not None, days=max_age_days)
    events.queue(session, "portal_contact_invited", contact_id=contact.id)


def invitation_problem(contact: Contact | None, email: str | None) -> bool:
    """Whether an invitation for ``email`` to ``contact`` can no longer be accepted: the contact
    was removed, disabled, its e-mail changed, or it was accepted already (works once)."""
    return (contact is None or not contact.active or contact.is_owner or contact.user_id is not None
            or contact.email.lower() != (email or "").lower())


def accept_invitation(session, contact: Contact, user) -> Contact:
    """Link ``user`` (just created, or existing and signed in) to the invited contact, and
    give the user the Client role if they lack it."""
    from flask_appbuilder.security.sqla.models import Role

    if invitation_problem(contact, user.email):
        raise UserError(_l("The link has expired or was already used. Ask for a new one."))
    if session.scalar(select(Contact.id).where(Contact.client_id == contact.client_id,
                                               Contact.user_id == user.id)) is not None:
        raise UserError(_l("You are already a member of this account."))
    if not any(role.name == "Client" for role in user.roles):
        user.roles.append(session.scalar(select(Role).where(Role.name == "Client")))
    contact.user_id = user.id
    session.flush()
    return contact


def open_client_account(session, user, *, company_name: str, locale: str, confirmation_link) -> Client:
    """Sign-up: the new (inactive) ``user`` owns a new client account, and is sent the link
    ``confirmation_link(user)`` that activates it, in the same transaction."""
    from models import notifications

    user.active = False
    name = f"{user.first_name} {user.last_name}"
    client = Client(company_name=company_name.strip(), email=user.email, legal_rep_name=name)
    session.add(client)
    session.flush()
    session.add(Contact(client_id=client.id, user_id=user.id, name=name, email=user.email, is_owner=True))
    preference = session.get(UserPreference, user.id) or UserPreference(user_id=user.id)
    preference.locale = locale
    session.add(preference)
    notifications.enqueue(session, recipient=user.email, user_id=user.id, template="confirm_email",
                          subject=_l("Confirm your e-mail address"), event=f"user.signup:{user.id}", user=user,
                          url=confirmation_link(user))
    return client
