"""Departments, tickets, their messages and attachments, and the ticket operations.

The operations here (open_ticket, reply, close, staff_update) are the only way tickets
change: HTML views, the REST API, the CLI and plugins all call them. Each one commits its
own unit of work, writing the notifications to the outbox in the same transaction, then
fires the plugin events (models/events.py).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Optional

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import events, notifications
from models.errors import UserError
from models.timeutil import utcnow

log = logging.getLogger(__name__)

OPEN, ANSWERED, CUSTOMER_REPLY, IN_PROGRESS, ON_HOLD, RESOLVED, CLOSED = (
    "open", "answered", "customer_reply", "in_progress", "on_hold", "resolved", "closed",
)
STATUS_LABELS = {
    OPEN: _l("Open"),
    ANSWERED: _l("Answered"),
    CUSTOMER_REPLY: _l("Customer-Reply"),
    IN_PROGRESS: _l("In Progress"),
    ON_HOLD: _l("On Hold"),
    RESOLVED: _l("Resolved"),
    CLOSED: _l("Closed"),
}
FINISHED_STATUSES = (RESOLVED, CLOSED)
HIGH, MEDIUM, LOW = "high", "medium", "low"
PRIORITY_LABELS = {HIGH: _l("High"), MEDIUM: _l("Medium"), LOW: _l("Low")}


class Department(Model):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    name_es: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False)
    description_es: Mapped[str] = mapped_column(Text, default="", nullable=False)
    description_en: Mapped[str] = mapped_column(Text, default="", nullable=False)
    email: Mapped[str] = mapped_column(String(320), default="", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    staff = relationship("User", secondary="staff_department")

    def name(self, locale: str) -> str:
        return self.name_es if locale == "es" else self.name_en

    def description(self, locale: str) -> str:
        return self.description_es if locale == "es" else self.description_en

    def __repr__(self) -> str:
        from flask_babel import get_locale

        return self.name(str(get_locale() or "es")[:2])


class StaffDepartment(Model):
    """Which departments a staff user answers (and so which tickets they see)."""

    __tablename__ = "staff_department"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), primary_key=True)


class Ticket(Model):
    __tablename__ = "ticket"
    # A client's list is filtered by account and ordered by last update: one index serves both,
    # so the first page costs the same however many tickets the account has.
    __table_args__ = (Index("ix_ticket_client_updated", "client_id", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(6), unique=True, nullable=False)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), nullable=False, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    service_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"), nullable=True)
    priority: Mapped[str] = mapped_column(String(10), default=MEDIUM, nullable=False)
    status: Mapped[str] = mapped_column(String(20), default=OPEN, nullable=False, index=True)
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    # The form's one-time key: a second submit of the same form finds this ticket instead
    # of opening a duplicate.
    submission_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True, nullable=True)

    client = relationship("Client")
    department = relationship("Department")
    service = relationship("Service")
    user = relationship("User", foreign_keys=[user_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    messages = relationship("TicketMessage", back_populates="ticket", order_by="TicketMessage.id",
                            cascade="all, delete-orphan")

    @property
    def display_number(self) -> str:
        return f"#{self.number}"

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def priority_label(self) -> str:
        return str(PRIORITY_LABELS[self.priority])

    def __repr__(self) -> str:
        return f"#{self.number} {self.subject}"


class TicketMessage(Model):
    __tablename__ = "ticket_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # Markdown, rendered sanitized
    from_staff: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # staff-only note
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    submission_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True, nullable=True)

    ticket = relationship("Ticket", back_populates="messages")
    attachments = relationship("Attachment", back_populates="message", order_by="Attachment.id")


class Attachment(Model):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_message.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    message = relationship("TicketMessage", back_populates="attachments")


# --- Operations -------------------------------------------------------------------------------

@dataclass
class NewTicket:
    client_id: int
    department_id: int
    name: str
    email: str
    subject: str
    body: str
    priority: str = MEDIUM
    service_id: Optional[int] = None
    user_id: Optional[int] = None
    submission_key: Optional[str] = None
    files: list = field(default_factory=list)  # models.files.IncomingFile


SUBJECT_MAX = 200
BODY_MAX = 100_000


def _clean_text(value: str, limit: int, empty_message, long_message) -> str:
    value = (value or "").strip()
    if not value:
        raise UserError(empty_message)
    if len(value) > limit:
        raise UserError(long_message)
    return value


def _clean_subject(value: str) -> str:
    """A subject is one line: runs of spaces, tabs, line breaks and control characters become one
    space (a line break would otherwise end up in the e-mail's Subject header). Format
    characters (Cf: bidirectional overrides, zero-width ones) are dropped: in lists and e-mail
    subjects they could make a text read as something else."""
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in (value or "")
                    if unicodedata.category(ch) != "Cf")
    return _clean_text(" ".join(value.split()), SUBJECT_MAX, _l("Write a subject."),
                       _l("The subject can have at most %(n)s characters.", n=SUBJECT_MAX))


def _new_number() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _routed_department(session, department: Department, subject: str, body: str) -> Department:
    """Let a plugin send the ticket to another department (portal_route_ticket)."""
    from flask import current_app

    try:
        slug = current_app.extensions["portal"].plugins.hook.portal_route_ticket(
            subject=subject, body=body, department_slug=department.slug)
    except Exception:
        log.exception("portal_route_ticket failed; keeping the department the client chose")
        return department
    if not slug or slug == department.slug:
        return department
    routed = session.scalar(select(Department).where(Department.slug == slug, Department.active.is_(True)))
    return routed or department


def open_ticket(session, data: NewTicket, files_store) -> Ticket:
    """Open a ticket with its first message and attachments, notify the department.

    All or nothing: the ticket, its message, its attachments and the outbox rows are one
    transaction, and the files are removed from disk when it does not commit. A taken
    random number is retried with a new one; the same form submitted twice (the same
    submission key, even at the same time) gives back the first ticket.

    No savepoints: SQLite's Python driver commits a released SAVEPOINT that opened the
    transaction, which would leave a ticket without its message when a later step fails.
    Instead the whole unit of work is retried after a unique-constraint conflict (the
    ticket row is the first row written, so nothing else is lost).
    """
    from models.catalog import Service

    key = data.submission_key or None
    if key:
        existing = session.scalar(select(Ticket).where(Ticket.submission_key == key))
        if existing is not None:
            if existing.client_id == data.client_id:
                return existing
            key = None  # someone else's key: never hand out (or reveal) their ticket
    subject = _clean_subject(data.subject)
    body = _clean_text(data.body, BODY_MAX, _l("Write a message."),
                       _l("The message can have at most %(n)s characters.", n=BODY_MAX))
    if data.priority not in PRIORITY_LABELS:
        raise UserError(_l("Choose a valid priority."))
    department = session.get(Department, data.department_id)
    if department is None or not department.active:
        raise UserError(_l("Choose a valid department."))
    department = _routed_department(session, department, subject, body)
    department_id = department.id
    if data.service_id is not None:
        service = session.get(Service, data.service_id)
        if service is None or service.client_id != data.client_id:
            raise UserError(_l("Choose one of your services."))
    stored = files_store.validate_and_save(data.files)  # raises UserError before any row is written
    try:
        for _attempt in range(50):
            now = utcnow()
            number = _new_number()
            ticket = Ticket(
                number=number, client_id=data.client_id, department_id=department_id,
                user_id=data.user_id, name=data.name.strip()[:200], email=data.email.strip()[:320],
                subject=subject, service_id=data.service_id, priority=data.priority, status=OPEN,
                created_at=now, updated_at=now, submission_key=key,
            )
            session.add(ticket)
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                if key:
                    # The same form, submitted again while the first was being saved.
                    existing = session.scalar(select(Ticket).where(Ticket.submission_key == key))
                    if existing is not None:
                        if existing.client_id == data.client_id:
                            files_store.discard(stored)
                            return existing
                        key = None
                        continue
                if session.scalar(select(Ticket.id).where(Ticket.number == number)) is not None:
                    continue  # the random number was taken: draw another
                raise
            message = TicketMessage(ticket_id=ticket.id, user_id=data.user_id, author_name=ticket.name, body=body,
                                    from_staff=False, created_at=now)
            session.add(message)
            session.flush()
            files_store.attach(session, stored, ticket, message)
            notifications.ticket_opened(session, ticket, message)
            events.queue(session, "portal_ticket_opened", ticket_id=ticket.id)
            session.commit()
            break
        else:  # pragma: no cover - a million numbers, fifty tries
            raise UserError(_l("Could not open the ticket, try again."))
    except BaseException:
        session.rollback()
        files_store.discard(stored)
        raise
    events.commit(session)  # committed above: now the plugin events and the outbox delivery
    return ticket


def reply(session, ticket: Ticket, *, user_id: Optional[int], author_name: str, body: str, from_staff: bool,
          internal: bool = False, files=(), files_store=None, submission_key: Optional[str] = None,
          new_status: Optional[str] = None) -> TicketMessage:
    """Add a message to a ticket.

    A client's message always lands: on a resolved or closed ticket it reopens it as
    Customer-Reply. A public staff reply marks the ticket Answered (or the status staff
    chose) and e-mails the client; an internal note changes nothing a client sees.
    The same form submitted twice (the same submission key) adds one message.
    """
    ticket_id = ticket.id
    key = submission_key or None
    if key:
        existing = session.scalar(select(TicketMessage).where(TicketMessage.submission_key == key))
        if existing is not None:
            if existing.ticket_id == ticket_id:
                return existing
            key = None  # a key used on another ticket: not a repeat of this form
    body = _clean_text(body, BODY_MAX, _l("Write a message."),
                       _l("The message can have at most %(n)s characters.", n=BODY_MAX))
    if internal and not from_staff:
        raise UserError(_l("Only staff can write internal notes."))
    if new_status is not None and new_status not in STATUS_LABELS:
        raise UserError(_l("Choose a valid status."))
    stored = files_store.validate_and_save(list(files)) if files_store else []
    try:
        now = utcnow()
        message = TicketMessage(ticket_id=ticket_id, user_id=user_id, author_name=author_name[:200], body=body,
                                from_staff=from_staff, internal=internal, created_at=now, submission_key=key)
        session.add(message)
        try:
            session.flush()  # the message is the first row written: a conflict loses nothing else
        except IntegrityError:
            session.rollback()
            existing = key and session.scalar(select(TicketMessage).where(TicketMessage.submission_key == key,
                                                                            TicketMessage.ticket_id == ticket_id))
            if not existing:
                raise
            if files_store:
                files_store.discard(stored)
            return existing
        if files_store:
            files_store.attach(session, stored, ticket, message)
        if not internal:
            if from_staff:
                ticket.status = new_status or ANSWERED
            elif ticket.status != OPEN:  # still Open means no one has answered yet
                ticket.status = CUSTOMER_REPLY
            ticket.updated_at = now
        elif new_status:
            ticket.status = new_status
        if not internal:
            if from_staff:
                notifications.ticket_replied_by_staff(session, ticket, message)
            else:
                notifications.ticket_replied_by_client(session, ticket, message)
        events.queue(session, "portal_ticket_replied", ticket_id=ticket_id, message_id=message.id)
        session.commit()
    except BaseException:
        session.rollback()
        if files_store:
            files_store.discard(stored)
        raise
    events.commit(session)  # committed above: now the plugin events and the outbox delivery
    return message


def close(session, ticket: Ticket) -> Ticket:
    if ticket.status != CLOSED:
        ticket.status = CLOSED
        ticket.updated_at = utcnow()
        events.queue(session, "portal_ticket_closed", ticket_id=ticket.id)
    events.commit(session)
    return ticket


def staff_update(session, ticket: Ticket, *, status=None, priority=None, department_id=None,
                 assignee_id=None, unassign=False) -> Ticket:
    """Staff changes to a ticket's status, priority, department or assignee.

    Everything is checked before anything changes: a bad value changes nothing. The
    assignee must be an active staff member of the ticket's department (the new one, when it
    moves; an assignee who does not answer the new department is dropped)."""
    from flask_appbuilder.security.sqla.models import User

    if status is not None and status not in STATUS_LABELS:
        raise UserError(_l("Choose a valid status."))
    if priority is not None and priority not in PRIORITY_LABELS:
        raise UserError(_l("Choose a valid priority."))
    department = None
    if department_id is not None and department_id != ticket.department_id:
        department = session.get(Department, department_id)
        if department is None or not department.active:
            raise UserError(_l("Choose a valid department."))
    target_department_id = department.id if department is not None else ticket.department_id

    def answers_department(user_id) -> bool:
        user = session.get(User, user_id)
        return user is not None and user.active and session.scalar(
            select(StaffDepartment.user_id).where(StaffDepartment.user_id == user_id,
                                                  StaffDepartment.department_id == target_department_id)) is not None

    if not unassign and assignee_id is not None and not answers_department(assignee_id):
        if department is None:
            raise UserError(_l("Choose a valid assignee."))
        unassign = True  # moved to a department the assignee does not answer: nobody's yet
    if status is not None:
        ticket.status = status
    if priority is not None:
        ticket.priority = priority
    if department is not None:
        ticket.department_id = department.id
    if unassign:
        ticket.assignee_id = None
    elif assignee_id is not None:
        ticket.assignee_id = assignee_id
    ticket.updated_at = utcnow()
    if status == CLOSED:
        events.queue(session, "portal_ticket_closed", ticket_id=ticket.id)
    events.commit(session)
    return ticket
