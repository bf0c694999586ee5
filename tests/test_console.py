"""The administrators' back-office console (Flask-Admin at /console)."""
from models import db
from models.outbox import FAILED, PENDING, OutboxMessage
from plugins.testing import login


def _outbox_row(app, **values):
    with app.app_context():
        row = OutboxMessage(channel="email", recipient="someone@test.test", subject="Asunto", body_text="Hola",
                            **values)
        db.session.add(row)
        db.session.commit()
        return row.id


def test_only_administrators_open_the_console(portal_app, make_user):
    make_user("admin@test.test", "admin-pass", role="Admin")
    make_user("client@test.test", "client-pass")
    make_user("staff@test.test", "staff-pass", role="Staff")
    anonymous = portal_app.test_client()
    assert "/login/" in anonymous.get("/console/outbox/").headers["Location"]
    for email, password in (("client@test.test", "client-pass"), ("staff@test.test", "staff-pass")):
        client = portal_app.test_client()
        login(client, email, password)
        assert client.get("/console/outbox/").status_code == 403
    admin = portal_app.test_client()
    login(admin, "admin@test.test", "admin-pass")
    _outbox_row(portal_app, status=FAILED, attempts=8, last_error="ConnectionRefusedError: refused")
    page = admin.get("/console/outbox/")
    assert page.status_code == 200
    assert "ConnectionRefusedError: refused" in page.get_data(as_text=True)


def test_retry_puts_failed_messages_back_in_the_queue(portal_app, make_user):
    make_user("admin@test.test", "admin-pass", role="Admin")
    admin = portal_app.test_client()
    login(admin, "admin@test.test", "admin-pass")
    failed = _outbox_row(portal_app, status=FAILED, attempts=8)
    sent = _outbox_row(portal_app, status="sent", attempts=1)
    waiting = _outbox_row(portal_app, status=PENDING, attempts=2)
    response = admin.post("/console/outbox/action/", data={"action": "retry",
                                                            "rowid": [str(failed), str(sent), str(waiting)]})
    assert response.status_code == 302
    with portal_app.app_context():
        retried = db.session.get(OutboxMessage, failed)
        assert (retried.status, retried.attempts) == (PENDING, 0)  # a whole new cycle of attempts
        assert db.session.get(OutboxMessage, sent).status == "sent"  # a sent message is never sent again
        assert db.session.get(OutboxMessage, waiting).attempts == 2  # left to the workers' own schedule
