"""Helpers shared by the ticket and attachment tests."""
import re


def department_id(app, slug):
    from models import db
    from models.support import Department

    with app.app_context():
        return db.session.query(Department.id).filter_by(slug=slug).scalar()


def counts(app) -> dict:
    from models import db
    from models.outbox import OutboxMessage
    from models.support import Attachment, Ticket, TicketMessage

    with app.app_context():
        return {name: db.session.query(model).count() for name, model in
                (("tickets", Ticket), ("messages", TicketMessage), ("attachments", Attachment),
                 ("outbox", OutboxMessage))}


def flash_errors(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", m).replace("&times;", "").split())
            for m in re.findall(r'<div class="alert alert-danger">(.*?)</div>', html, re.S)]
