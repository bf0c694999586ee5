"""Client accounts, their contacts (memberships with scopes) and the history of changes."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
