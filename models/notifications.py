"""Who is told about a ticket event, and the message each one gets, in their language.

Called by the ticket operations inside their transaction: the rows land in the outbox
together with the event, and delivery happens after the commit.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.accounts import Contact, UserPreference
from models.outbox import OutboxMessage


def _locale_of(session, user_id) -> str:
    """The recipient's chosen language, or the portal's default (also for people without a
    login, such as contacts who only receive e-mail, and for a language no longer offered)."""
    default = current_app.config["DEFAULT_LOCALE"]
    if user_id is None:
        return default
    pref = session.get(UserPreference, user_id)
    locale = pref.locale if pref is not None else None
    return locale if locale in current_app.config["LANGUAGES"] else default


def ticket_url(ticket) -> str:
    """The ticket's page in the client area."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/support/tickets/{ticket.number}"


def staff_ticket_url(ticket) -> str:
    """The ticket's page for staff."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/staff/ticket/{ticket.number}"


class Recipient(NamedTuple):
    email: str
    user_id: Optional[int]  # None for an address without a login (a contact, a department)
    name: str


def enqueue(session, *, recipient: Recipient | str, template: str, subject, event: str, user_id=None,
            **context) -> None:
    """Render ``template`` and the lazy ``subject`` in the recipient's language and queue it,
    once for each of the NOTIFICATION_CHANNELS.

    ``recipient`` is a Recipient, or an address with the ``user_id`` of its login (if any).
    The template gets ``recipient`` too."""
    if isinstance(recipient, str):
        recipient = Recipient(recipient, user_id, "")
    locale = _locale_of(session, recipient.user_id)
    with force_locale(locale):
        context.update(company=current_app.config["COMPANY_NAME"], locale=locale, recipient=recipient)
        body = render_template(f"email/{template}.txt", **context)
        subject_text = " ".join(str(subject).split())  # one line, whatever the ticket's subject holds
    for channel in current_app.config["NOTIFICATION_CHANNELS"]:
        session.add(OutboxMessage(channel=channel, recipient=recipient.email, subject=subject_text[:250],
                                  body_text=body, event=event[:100]))


def _client_recipients(session, ticket) -> list[Recipient]:
    """The ticket's opener and the client's active contacts whose scopes include support
    e-mails (the owner has every scope), each address once."""
    recipients = {ticket.email.lower(): Recipient(ticket.email, ticket.user_id, ticket.name)}
    for contact in session.scalars(select(Contact).where(Contact.client_id == ticket.client_id,
                                                         Contact.active.is_(True)).order_by(Contact.id)):
        if contact.email and contact.has_scope("support_emails"):
            recipients.setdefault(contact.email.lower(), Recipient(contact.email, contact.user_id, contact.name))
    return list(recipients.values())


def _staff_recipients(session, ticket) -> list[Recipient]:
    """The assignee, or, when there is none (or it can no longer log in), the staff of the
    ticket's department; and the department's own address when it has one."""
    from models.support import Department

    department = session.get(Department, ticket.department_id)  # the current one, even just moved
    assignee = ticket.assignee if ticket.assignee_id is not None else None
    users = [assignee] if assignee is not None and assignee.active else list(department.staff)
    recipients = {u.email.lower(): Recipient(u.email, u.id, f"{u.first_name} {u.last_name}".strip())
                  for u in users if u.active and u.email}
    if department.email:
        recipients.setdefault(department.email.lower(), Recipient(department.email, None, ""))
    return list(recipients.values())


def ticket_opened(session, ticket, message) -> None:
    """A new ticket: its department's staff (or its assignee) hear of it."""
    for recipient in _staff_recipients(session, ticket):
        enqueue(session, recipient=recipient, template="ticket_opened_staff",
                subject=_l("New ticket #%(number)s: %(subject)s", number=ticket.number, subject=ticket.subject),
                event=f"ticket.opened:{ticket.id}", ticket=ticket, message=message, url=staff_ticket_url(ticket))


def ticket_replied_by_staff(session, ticket, message) -> None:
    """A public staff reply: the opener and the contacts who receive support e-mail hear of it."""
    for recipient in _client_recipients(session, ticket):
        enqueue(session, recipient=recipient, template="ticket_reply_client",
                subject=_l("Ticket #%(number)s answered: %(subject)s", number=ticket.number, subject=ticket.subject),
                event=f"ticket.replied:{message.id}", ticket=ticket, message=message, url=ticket_url(ticket))


def ticket_replied_by_client(session, ticket, message) -> None:
    """A client's reply: the assignee (or the department's staff) hear of it."""
    for recipient in _staff_recipients(session, ticket):
        enqueue(session, recipient=recipient, template="ticket_reply_staff",
                subject=_l("Client reply on ticket #%(number)s: %(subject)s", number=ticket.number,
                           subject=ticket.subject),
                event=f"ticket.replied:{message.id}", ticket=ticket, message=message, url=staff_ticket_url(ticket))
