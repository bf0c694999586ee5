"""Notifications: who is e-mailed about a ticket, in which language, with what; the outbox
that keeps the messages when SMTP is down and delivers each one once when it is back.

Every e-mail here goes through a real SMTP server on loopback (aiosmtpd)."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import event, func, select

from models import db
from models.accounts import Contact, UserPreference
from models.outbox import FAILED, PENDING, SENT, OutboxMessage, deliver_due, retry_delay
from models.support import Department, StaffDepartment, Ticket, TicketMessage
from models.timeutil import utcnow
from plugins.hookspecs import hookimpl
from plugins.testing import SmtpServer, login

# --- helpers --------------------------------------------------------------------------------------


def tr(app, locale, msgid, **values):
    """A catalog string in a locale, checked to be translated when the locale is Spanish."""
    with app.test_request_context(), force_locale(locale):
        text = gettext(msgid, **values)
    if locale == "es":
        with app.test_request_context(), force_locale("en"):
            assert text != gettext(msgid, **values), f"{msgid!r} has no Spanish translation"
    return text


def demo_ticket(app, slug, opener_email, *, open_status=None):
    """A demo ticket of that department opened by that user: (id, number, subject)."""
    with app.app_context():
        query = (select(Ticket).join(Department).where(Department.slug == slug, Ticket.email == opener_email)
                 .order_by(Ticket.id))
        if open_status is not None:
            query = query.where(Ticket.status == open_status)
        ticket = db.session.scalars(query).first()
        assert ticket is not None
        return ticket.id, ticket.number, ticket.subject


def outbox(app):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def body_of(mail) -> str:
    """The e-mail's text with the line breaks as written (SMTP carries CRLF)."""
    return mail.get_content().replace("\r\n", "\n").strip()


def recipients(server):
    return sorted(m["To"] for m in server.messages)


def set_locale(app, email, locale):
    with app.app_context():
        user = app.appbuilder.sm.find_user(email=email)
        pref = db.session.get(UserPreference, user.id) or UserPreference(user_id=user.id)
        pref.locale = locale
        db.session.add(pref)
        db.session.commit()


def staff_reply(app, email, number, text, *, internal=False, password="agente"):
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    data = {"message": text}
    if internal:
        data["internal"] = "1"
    response = client.post(f"/staff/ticket/{number}/reply", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def run_worker(app):
    result = app.test_cli_runner().invoke(args=["portal", "worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def make_due(app):
    with app.app_context():
        for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == PENDING)):
            row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()


class EventRecorder:
    """A plugin that writes down the ticket events it is told about."""

    def __init__(self):
        self.events = []

    @hookimpl
    def portal_ticket_opened(self, ticket_id):
        self.events.append(("opened", ticket_id))

    @hookimpl
    def portal_ticket_replied(self, ticket_id, message_id):
        self.events.append(("replied", ticket_id, message_id))


# --- who gets what -----------------------------------------------------------------------------------


def test_staff_reply_emails_opener_and_support_contacts_once_each(demo_app, smtp_server):
    ticket_id, number, subject = demo_ticket(demo_app, "arrendasoft", "soporte@losandes.test")
    staff_reply(demo_app, "agente@demo.test", number, "Ya revisamos el caso.\n\nQuedó **corregido**.")

    # The opener (the contact soporte@, whose scopes include support e-mails) and the owner
    # (who has every scope); not jorge@, a contact whose scopes are only billing ones.
    assert recipients(smtp_server) == ["cliente@demo.test", "soporte@losandes.test"]
    assert smtp_server.sink.to("jorge@losandes.test") == []
    for mail in smtp_server.messages:
        assert mail["Subject"] == f"Ticket #{number} respondido: {subject}"
        assert mail["From"] == "Portal <no-reply@portal.test>"
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["Date"] and mail["Message-ID"]

    def expected(name):
        return "\n".join([
            tr(demo_app, "es", "Hello %(name)s,", name=name),
            "",
            tr(demo_app, "es", "Ticket #%(number)s (%(subject)s) has a new answer from %(author)s:",
               number=number, subject=subject, author="Andrés Agente"),
            "",
            "Ya revisamos el caso.\n\nQuedó **corregido**.",
            "",
            tr(demo_app, "es", "See the ticket and answer it here:") + f" http://portal.test/support/tickets/{number}",
            "",
            tr(demo_app, "es", "Do not answer this e-mail: replies sent by e-mail are not received. "
                               "Answer inside the client area, at the link above."),
            "",
            "Portal",
        ])

    # Each one is greeted by their own name.
    assert body_of(smtp_server.sink.to("soporte@losandes.test")[0]) == expected("Camilo Soporte")
    assert body_of(smtp_server.sink.to("cliente@demo.test")[0]) == expected("María Fernanda Restrepo")
    assert "No responda este correo" in body_of(smtp_server.messages[0])

    with demo_app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert sorted((r.recipient, r.status, r.attempts) for r in rows) == [
            ("cliente@demo.test", SENT, 1), ("soporte@losandes.test", SENT, 1)]


def test_internal_note_emails_no_client(demo_app, smtp_server):
    _id, number, _subject = demo_ticket(demo_app, "arrendasoft", "soporte@losandes.test")
    staff_reply(demo_app, "agente@demo.test", number, "Revisar con desarrollo.", internal=True)
    assert smtp_server.messages == []
    assert outbox(demo_app) == []
    with demo_app.app_context():
        note = db.session.scalar(select(TicketMessage).where(TicketMessage.body == "Revisar con desarrollo."))
        assert note.internal and note.from_staff


def test_new_ticket_emails_only_that_departments_staff(demo_app, smtp_server):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    with demo_app.app_context():
        web_id = db.session.scalar(select(Department.id).where(Department.slug == "web"))
    response = client.post("/support/open/web", data={
        "department_id": web_id, "subject": "El formulario <b>no</b> envía", "message": "Desde ayer.",
        "priority": "high", "service_id": "none", "submission_key": "n1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    number = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    assert recipients(smtp_server) == ["web@demo.test"]
    mail = smtp_server.messages[0]
    # A text e-mail: the subject's markup is shown as typed, not escaped nor interpreted.
    assert mail["Subject"] == f"Nuevo ticket #{number}: El formulario <b>no</b> envía"
    assert body_of(mail) == "\n".join([
        tr(demo_app, "es", "New ticket #%(number)s in %(department)s", number=number,
           department="Soporte Páginas Web"),
        "",
        tr(demo_app, "es", "From: %(name)s <%(email)s> (%(client)s)", name="María Fernanda Restrepo",
           email="cliente@demo.test", client="Inmobiliaria Los Andes S.A.S."),
        f"{tr(demo_app, 'es', 'Priority')}: {tr(demo_app, 'es', 'High')}",
        f"{tr(demo_app, 'es', 'Subject')}: El formulario <b>no</b> envía",
        "",
        "Desde ayer.",
        "",
        f"http://portal.test/staff/ticket/{number}",
    ])


def test_client_reply_emails_the_assignee_or_else_the_departments_staff(demo_app, smtp_server, make_user):
    # A second Moodle agent: an unassigned ticket's reply goes to both, an assigned one to its assignee.
    second_id, _ = make_user("moodle2@demo.test", role="Staff", first_name="Segundo", last_name="Agente")
    with demo_app.app_context():
        moodle = db.session.scalar(select(Department).where(Department.slug == "moodle"))
        db.session.add(StaffDepartment(user_id=second_id, department_id=moodle.id))
        db.session.commit()
        unassigned = db.session.scalars(select(Ticket).where(Ticket.department_id == moodle.id,
                                                             Ticket.assignee_id.is_(None))).first()
        assigned = db.session.scalars(select(Ticket).where(Ticket.department_id == moodle.id,
                                                           Ticket.assignee_id.is_not(None))).first()
        assert assigned.assignee.email == "moodle@demo.test"
        assigned.assignee_id = second_id
        db.session.commit()
        unassigned_number, assigned_number = unassigned.number, assigned.number
        assigned_subject = assigned.subject

    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    assert client.post(f"/support/tickets/{unassigned_number}/reply", data={"message": "¿Novedades?"}) \
        .status_code == 302
    assert recipients(smtp_server) == ["moodle2@demo.test", "moodle@demo.test"]

    smtp_server.messages.clear()
    assert client.post(f"/support/tickets/{assigned_number}/reply", data={"message": "Sigue igual."}) \
        .status_code == 302
    assert recipients(smtp_server) == ["moodle2@demo.test"]
    mail = smtp_server.messages[0]
    assert mail["Subject"] == f"Respuesta del cliente en el ticket #{assigned_number}: {assigned_subject}"
    assert "Sigue igual." in body_of(mail)
    assert f"http://portal.test/staff/ticket/{assigned_number}" in body_of(mail)
    # No one else in any department heard of either reply.
    assert not any(smtp_server.sink.to(a) for a in ("agente@demo.test", "web@demo.test", "cliente@demo.test"))


def test_emails_are_in_each_recipients_language(demo_app, smtp_server):
    set_locale(demo_app, "soporte@losandes.test", "en")
    set_locale(demo_app, "web@demo.test", "en")
    _id, number, subject = demo_ticket(demo_app, "arrendasoft", "soporte@losandes.test")
    staff_reply(demo_app, "agente@demo.test", number, "Listo.")

    english = smtp_server.sink.to("soporte@losandes.test")[0]
    assert english["Subject"] == f"Ticket #{number} answered: {subject}"
    assert body_of(english) == "\n".join([
        "Hello Camilo Soporte,",
        "",
        f"Ticket #{number} ({subject}) has a new answer from Andrés Agente:",
        "",
        "Listo.",
        "",
        f"See the ticket and answer it here: http://portal.test/support/tickets/{number}",
        "",
        "Do not answer this e-mail: replies sent by e-mail are not received. Answer inside the client area, "
        "at the link above.",
        "",
        "Portal",
    ])
    spanish = smtp_server.sink.to("cliente@demo.test")[0]  # no preference: the default, Spanish
    assert spanish["Subject"] == f"Ticket #{number} respondido: {subject}"
    assert "No responda este correo" in body_of(spanish)

    # Staff too: web@ reads English, with the department's English name.
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    with demo_app.app_context():
        web_id = db.session.scalar(select(Department.id).where(Department.slug == "web"))
    response = client.post("/support/open/web", data={"department_id": web_id, "subject": "Banner",
                                                      "message": "Cambiar el banner.", "priority": "low"})
    new_number = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    staff_mail = smtp_server.sink.to("web@demo.test")[0]
    assert staff_mail["Subject"] == f"New ticket #{new_number}: Banner"
    assert body_of(staff_mail).startswith(f"New ticket #{new_number} in Web pages support\n")
    assert "Priority: Low" in body_of(staff_mail)


def test_a_subject_with_line_breaks_still_makes_a_one_line_header(demo_app, smtp_server):
    from models import support as ops
    from models.support import NewTicket

    with demo_app.test_request_context():
        owner = db.session.scalar(select(Contact).where(Contact.email == "cliente@demo.test"))
        moodle_id = db.session.scalar(select(Department.id).where(Department.slug == "moodle"))
        ticket = ops.open_ticket(db.session, NewTicket(
            client_id=owner.client_id, department_id=moodle_id, name=owner.name, email=owner.email,
            subject="Primera línea\r\nBcc: intruso@evil.test", body="Hola", user_id=owner.user_id),
            demo_app.extensions["portal"].attachments)
        number = ticket.number
    assert recipients(smtp_server) == ["moodle@demo.test"]
    assert smtp_server.messages[0]["Subject"] == f"Nuevo ticket #{number}: Primera línea Bcc: intruso@evil.test"
    assert smtp_server.messages[0]["Bcc"] is None
    assert [r.status for r in outbox(demo_app)] == [SENT]


# --- SMTP down, retries, backoff ------------------------------------------------------------------


@pytest.fixture
def small_helpdesk(portal_app, make_user):
    """One client (owner only) and one agent in the Moodle department, nothing else."""
    client_user, client_id = make_user("owner@client.test", "owner-pass", first_name="Olga", last_name="Owner")
    agent_id, _ = make_user("agent@portal.test", "agent-pass", role="Staff", first_name="Ana", last_name="Agent")
    with portal_app.app_context():
        moodle_id = db.session.scalar(select(Department.id).where(Department.slug == "moodle"))
        db.session.add(StaffDepartment(user_id=agent_id, department_id=moodle_id))
        db.session.commit()
    return {"app": portal_app, "moodle_id": moodle_id, "client_id": client_id}


def _open(app, moodle_id, subject="Sin acceso"):
    client = app.test_client()
    login(client, "owner@client.test", "owner-pass")
    response = client.post("/support/open/moodle", data={"department_id": moodle_id, "subject": subject,
                                                         "message": "No podemos entrar.", "priority": "high"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_smtp_down_reply_saves_at_once_and_is_emailed_once_when_smtp_is_back(small_helpdesk):
    app = small_helpdesk["app"]
    number = _open(app, small_helpdesk["moodle_id"])

    started = time.monotonic()
    staff_reply(app, "agent@portal.test", number, "Ya puede entrar.", password="agent-pass")
    assert time.monotonic() - started < 3  # no waiting on the missing server

    with app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
        assert [m.body for m in ticket.messages] == ["No podemos entrar.", "Ya puede entrar."]
        assert ticket.status == "answered"
        rows = {r.recipient: r for r in db.session.scalars(select(OutboxMessage))}
    reply_row = rows["owner@client.test"]
    assert (reply_row.status, reply_row.attempts) == (PENDING, 1)
    assert reply_row.last_error.startswith("ChannelUnavailable: SMTP server 127.0.0.1:")
    assert reply_row.next_attempt_at > utcnow()
    assert rows["agent@portal.test"].status == PENDING  # the new-ticket e-mail waits too

    # SMTP comes back, on the port the app sends to.
    server = SmtpServer(port=app.config["SMTP_PORT"]).start()
    try:
        run_worker(app)
        assert server.messages == []  # nothing was due yet: the retry waits for its time
        make_due(app)
        run_worker(app)
        assert recipients(server) == ["agent@portal.test", "owner@client.test"]
        assert server.sink.to("owner@client.test")[0]["Subject"] == f"Ticket #{number} respondido: Sin acceso"
        assert "Ya puede entrar." in body_of(server.sink.to("owner@client.test")[0])

        make_due(app)  # even if a row were made due again, a sent one is never sent twice
        run_worker(app)
        assert recipients(server) == ["agent@portal.test", "owner@client.test"]
    finally:
        server.stop()
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {(r.recipient, r.status, r.attempts) for r in rows} == {
            ("owner@client.test", SENT, 2), ("agent@portal.test", SENT, 2)}
        assert all(r.last_error == "" and r.sent_at is not None for r in rows)


def test_smtp_down_pass_stops_at_the_first_unreachable_server(portal_app_factory):
    app = portal_app_factory(OUTBOX_DELIVER_AFTER_COMMIT=False)
    with app.app_context():
        for n in range(3):
            db.session.add(OutboxMessage(channel="email", recipient=f"r{n}@x.test", subject="s", body_text="b"))
        db.session.commit()
    assert "sent 0" in run_worker(app)
    with app.app_context():
        # One connection attempt, not one per message (each could wait SMTP_TIMEOUT on a dead host).
        assert [(r.attempts, bool(r.last_error)) for r in db.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))] == [(1, True), (0, False), (0, False)]


def test_backoff_doubles_and_the_message_fails_after_max_attempts(portal_app_factory):
    app = portal_app_factory(OUTBOX_DELIVER_AFTER_COMMIT=False, OUTBOX_MAX_ATTEMPTS=4, OUTBOX_BACKOFF_SECONDS=30)
    with app.app_context():
        db.session.add(OutboxMessage(channel="email", recipient="a@x.test", subject="s", body_text="b"))
        db.session.commit()
    for attempt in range(1, 5):
        make_due(app)
        before = utcnow()
        run_worker(app)
        after = utcnow()
        with app.app_context():
            row = db.session.scalar(select(OutboxMessage))
            assert row.attempts == attempt
            assert row.last_error.startswith("ChannelUnavailable:")
            if attempt < 4:
                assert row.status == PENDING
                # 30, 60, 120 s after the failed attempt (which happened between before and after).
                expected = dt.timedelta(seconds=30 * 2 ** (attempt - 1))
                assert before + expected <= row.next_attempt_at <= after + expected
            else:
                assert row.status == FAILED
    make_due(app)
    run_worker(app)
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)).attempts == 4  # a failed message is left alone
    # However many attempts an operator allows, the wait stays bounded (no overflow).
    assert retry_delay(30, 500) == dt.timedelta(days=1)


def test_one_refused_message_does_not_hold_back_the_others(portal_app):
    sent = []

    class Picky:
        name = "email"

        def send(self, message):
            if message.recipient == "bad@x.test":
                raise ValueError("550 no such user")
            sent.append(message.recipient)

    with portal_app.app_context():
        for recipient in ("a@x.test", "bad@x.test", "b@x.test"):
            db.session.add(OutboxMessage(channel="email", recipient=recipient, subject="s", body_text="b"))
        db.session.add(OutboxMessage(channel="sms", recipient="+57300", subject="s", body_text="b"))
        db.session.commit()
        assert deliver_due(db.session, {"email": Picky()}, max_attempts=3, backoff_seconds=10) == 2
        rows = {r.recipient: r for r in db.session.scalars(select(OutboxMessage))}
    assert sent == ["a@x.test", "b@x.test"]
    assert rows["bad@x.test"].status == PENDING and rows["bad@x.test"].last_error == "ValueError: 550 no such user"
    assert rows["+57300"].last_error == "LookupError: no notification channel named 'sms'"


def test_worker_drains_more_than_one_pass(portal_app_factory, smtp_server, monkeypatch):
    import commands

    monkeypatch.setattr(commands, "PASS_LIMIT", 3)
    app = portal_app_factory(OUTBOX_DELIVER_AFTER_COMMIT=False)
    with app.app_context():
        for n in range(7):
            db.session.add(OutboxMessage(channel="email", recipient=f"r{n}@x.test", subject=f"m{n}", body_text="b"))
        db.session.commit()
    assert "sent 7" in run_worker(app)
    assert recipients(smtp_server) == [f"r{n}@x.test" for n in range(7)]


def test_a_failing_after_commit_delivery_does_not_fail_the_saved_reply(small_helpdesk, monkeypatch):
    app = small_helpdesk["app"]
    number = _open(app, small_helpdesk["moodle_id"])

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(app.extensions["portal"], "deliver_outbox", broken)
    staff_reply(app, "agent@portal.test", number, "Respuesta guardada.", password="agent-pass")
    with app.app_context():
        assert db.session.scalar(select(TicketMessage.id).where(TicketMessage.body == "Respuesta guardada."))
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.recipient == "owner@client.test")) == 1


def test_message_id_is_the_same_on_every_retry(portal_app):
    from plugins.builtin.email import build_mail

    with portal_app.app_context():
        row = OutboxMessage(channel="email", recipient="a@x.test", subject="Uno\ndos", body_text="b")
        db.session.add(row)
        db.session.commit()
        first, second = build_mail(row), build_mail(row)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<portal.outbox.{row.id}.") and first["Message-ID"].endswith(
        "@portal.test>")
    assert first["Subject"] == "Uno dos"


# --- two workers -----------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("PORTAL_TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="SELECT ... FOR UPDATE SKIP LOCKED needs PostgreSQL (set PORTAL_TEST_DATABASE_URL); "
                           "SQLite has no row locks and the embedded default runs one process")
def test_two_workers_never_send_the_same_message(portal_app_factory, smtp_server, monkeypatch):
    from plugins.builtin.email import EmailChannel

    app = portal_app_factory(OUTBOX_DELIVER_AFTER_COMMIT=False)
    count = 60
    with app.app_context():
        for n in range(count):
            db.session.add(OutboxMessage(channel="email", recipient=f"r{n:02d}@x.test", subject=f"m{n}",
                                         body_text="b"))
        db.session.commit()

    real_send = EmailChannel.send

    def slow_send(self, message):  # long enough that the two workers overlap for sure
        time.sleep(0.01)
        real_send(self, message)

    monkeypatch.setattr(EmailChannel, "send", slow_send)
    start = threading.Barrier(2)
    results, errors = {}, []

    def worker(name):
        try:
            with app.app_context():
                start.wait()
                results[name] = app.extensions["portal"].deliver_outbox(limit=count)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(results.values()) == count
    assert min(results.values()) > 0, results  # both worked, at the same time
    assert recipients(smtp_server) == [f"r{n:02d}@x.test" for n in range(count)]  # each exactly once
    with app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.status))) == {SENT}
        assert set(db.session.scalars(select(OutboxMessage.attempts))) == {1}


# --- rolled back: nothing sent, nothing announced -------------------------------------------------------------


def test_a_rolled_back_operation_leaves_no_outbox_row_and_fires_no_event(demo_app, smtp_server):
    from models import support as ops

    recorder = EventRecorder()
    demo_app.extensions["portal"].plugins.register(recorder, name="recorder")
    ticket_id, number, _subject = demo_ticket(demo_app, "arrendasoft", "soporte@losandes.test")

    with demo_app.test_request_context():
        session = db.session()

        def database_fails(_session):
            raise RuntimeError("the database refused the commit")

        event.listen(session, "before_commit", database_fails)
        ticket = db.session.get(Ticket, ticket_id)
        with pytest.raises(RuntimeError):
            ops.reply(db.session, ticket, user_id=None, author_name="Andrés Agente", body="Nunca guardada.",
                      from_staff=True)
        event.remove(session, "before_commit", database_fails)
        assert db.session.scalar(select(TicketMessage.id).where(TicketMessage.body == "Nunca guardada.")) is None
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert recorder.events == []

        # The next operation announces itself only, not the one that was rolled back.
        ticket = db.session.get(Ticket, ticket_id)
        message = ops.reply(db.session, ticket, user_id=None, author_name="Andrés Agente", body="Esta sí.",
                            from_staff=True)
        assert recorder.events == [("replied", ticket_id, message.id)]
    assert recipients(smtp_server) == ["cliente@demo.test", "soporte@losandes.test"]
    assert all("Esta sí." in body_of(m) for m in smtp_server.messages)
