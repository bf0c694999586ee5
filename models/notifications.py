"""Who is told about a ticket event, and the message each one gets, in their language.

Called by the ticket operations inside their transaction: the rows land in the outbox
together with the event, and delivery happens after the commit.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.accounts import Contact, UserPreference
from models.outbox import OutboxMessage


def _locale_of(session, user_id) -> str:
    default = current_app.config["DEFAULT_LOCALE"]
    if user_id is None:
        return default
    pref = session.get(UserPreference, user_id)
    return (pref and pref.locale) or default


def ticket_url(ticket) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/support/tickets/{ticket.number}"


def enqueue(session, *, recipient: str, user_id, template: str, subject, event: str, **context) -> None:
    """Render ``template`` and the lazy ``subject`` in the recipient's language and queue it."""
    locale = _locale_of(session, user_id)
    with force_locale(locale):
        context.update(company=current_app.config["COMPANY_NAME"], locale=locale)
        body = render_template(f"email/{template}.txt", **context)
        subject_text = str(subject)
    session.add(OutboxMessage(channel="email", recipient=recipient, subject=subject_text[:250], body_text=body,
                              event=event))


def _client_recipients(session, ticket) -> list[tuple[str, object]]:
    """The ticket's opener and the client's contacts whose scopes include support e-mails."""
    recipients = {ticket.email.lower(): (ticket.email, ticket.user_id)}
    for contact in session.scalars(select(Contact).where(Contact.client_id == ticket.client_id,
                                                         Contact.active.is_(True))):
        if contact.email and contact.has_scope("support_emails"):
            recipients.setdefault(contact.email.lower(), (contact.email, contact.user_id))
    return list(recipients.values())


def _staff_recipients(session, ticket) -> list[tuple[str, object]]:
    department = ticket.department
    users = [ticket.assignee] if ticket.assignee is not None else list(department.staff)
    recipients = {u.email.lower(): (u.email, u.id) for u in users if u.active and u.email}
    if department.email:
        recipients.setdefault(department.email.lower(), (department.email, None))
    return list(recipients.values())


def ticket_opened(session, ticket, message) -> None:
    for email, user_id in _staff_recipients(session, ticket):
        enqueue(session, recipient=email, user_id=user_id, template="ticket_opened_staff",
                subject=_l("New ticket #%(number)s: %(subject)s", number=ticket.number, subject=ticket.subject),
                event=f"ticket.opened:{ticket.id}", ticket=ticket, message=message, url=ticket_url(ticket))


def ticket_replied_by_staff(session, ticket, message) -> None:
    for email, user_id in _client_recipients(session, ticket):
        enqueue(session, recipient=email, user_id=user_id, template="ticket_reply_client",
                subject=_l("Ticket #%(number)s answered: %(subject)s", number=ticket.number, subject=ticket.subject),
                event=f"ticket.replied:{message.id}", ticket=ticket, message=message, url=ticket_url(ticket))


def ticket_replied_by_client(session, ticket, message) -> None:
    for email, user_id in _staff_recipients(session, ticket):
        enqueue(session, recipient=email, user_id=user_id, template="ticket_reply_staff",
                subject=_l("Client reply on ticket #%(number)s: %(subject)s", number=ticket.number, subject=ticket.subject),
                event=f"ticket.replied:{message.id}", ticket=ticket, message=message, url=ticket_url(ticket))
