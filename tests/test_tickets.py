"""Tickets as clients and staff use them: choosing a department, the form, numbers, double
submits, statuses, internal notes, the paginated list, and who may see which ticket.

Everything goes through real requests on a real database (SQLite, or PostgreSQL when
PORTAL_TEST_DATABASE_URL is set); the checks read the rows back. English text is checked
after the /language/en switch; Spanish only for data (department names, dates)."""
import datetime as dt
import io
import itertools
import re
import threading
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest

from plugins.testing import login
from ticket_helpers import counts, department_id, flash_errors

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"


# --- helpers ---------------------------------------------------------------------------------

def ticket_row(app, number) -> dict:
    from models import db
    from models.support import Ticket

    with app.app_context():
        t = db.session.query(Ticket).filter_by(number=number).one()
        return {"id": t.id, "number": t.number, "client_id": t.client_id, "department": t.department.slug,
                "user_id": t.user_id, "name": t.name, "email": t.email, "subject": t.subject,
                "service_id": t.service_id, "priority": t.priority, "status": t.status,
                "assignee_id": t.assignee_id, "updated_at": t.updated_at, "submission_key": t.submission_key,
                "messages": [(m.body, m.from_staff, m.internal) for m in t.messages]}


def client_session(app, make_user, email="laura@inmobiliaria.test", password="clave-secreta-1",
                   first_name="Laura", last_name="Gómez", english=True, **kwargs):
    """A logged-in test client of a new Client user (by default owner of a new account)."""
    user_id, client_id = make_user(email, password, "Client", first_name=first_name, last_name=last_name,
                                   **kwargs)
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    if english:
        client.get("/language/en")
    return client, user_id, client_id


def staff_session(app, make_user, email, slugs, password="clave-agente-1", first_name="Andrés", last_name="Agente"):
    from models import db
    from models.support import StaffDepartment

    user_id, _ = make_user(email, password, "Staff", first_name=first_name, last_name=last_name)
    with app.app_context():
        for slug in slugs:
            db.session.add(StaffDepartment(user_id=user_id, department_id=department_id(app, slug)))
        db.session.commit()
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    client.get("/language/en")
    return client, user_id


def post_ticket(client, app, slug="moodle", files=(), **fields):
    data = {"department_id": department_id(app, slug), "subject": "No cargan los certificados",
            "message": "Al generar el certificado sale **error 500**.", "priority": "medium",
            "service_id": "none"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"/support/open/{slug}", data=data, content_type="multipart/form-data")


def number_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    location = response.headers["Location"]
    assert re.search(r"/support/tickets/\d{6}$", location), location
    return location.rsplit("/", 1)[-1]


def make_service(app, client_id, name):
    from models import db
    from models.catalog import Service

    with app.app_context():
        service = Service(client_id=client_id, name=name, department_slug="moodle")
        db.session.add(service)
        db.session.commit()
        return service.id


def set_status(app, number, status):
    from models import db
    from models.support import Ticket

    with app.app_context():
        db.session.query(Ticket).filter_by(number=number).update({"status": status})
        db.session.commit()


def add_tickets(app, client_id, how_many, slug="moodle", start=100000, updated=None):
    """Tickets written directly (like the demo does), for list tests."""
    from models import db
    from models.support import Ticket, TicketMessage

    base = updated or dt.datetime(2024, 1, 1, 12, 0)
    with app.app_context():
        for i in range(how_many):
            at = base + dt.timedelta(hours=i)
            ticket = Ticket(number=f"{start + i:06d}", client_id=client_id, department_id=department_id(app, slug),
                            name="Laura Gómez", email="laura@inmobiliaria.test", subject=f"Consulta {i + 1}",
                            status="open", created_at=at, updated_at=at)
            ticket.messages.append(TicketMessage(author_name="Laura Gómez", body="Hola", created_at=at))
            db.session.add(ticket)
        db.session.commit()


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script>."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def assert_no_injected_markup(html: str):
    """Nothing a client typed became a tag, an attribute, a script or a javascript: link."""
    parsed = Tags(html)
    for tag, attrs in parsed.tags:
        assert not (tag == "img" and attrs.get("src") == "x"), (tag, attrs)
        for name, value in attrs.items():
            assert "alert(1)" not in (value or ""), (tag, attrs)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, attrs)
    assert not any("alert(1)" in script for script in parsed.scripts)


@contextmanager
def statements(app):
    """The SQL statements run while the block runs (counted on the app's engine)."""
    from sqlalchemy import event

    from models import db

    with app.app_context():
        engine = db.engine
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def same_session(app, client, how_many):
    """Test clients sharing ``client``'s session, like several tabs (or double clicks) of one browser."""
    cookie = client.get_cookie("session", domain="portal.test").value
    clients = [app.test_client() for _ in range(how_many)]
    for other in clients:
        other.set_cookie("session", cookie, domain="portal.test")
    return clients


def run_together(functions):
    """Run the callables in threads released at the same moment; return results in order."""
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def run(i, fn):
        try:
            barrier.wait(timeout=30)
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


# --- choosing the department and the form ------------------------------------------------------------

def test_department_choice_lists_active_departments_with_descriptions(portal_app, make_user):
    from models import db
    from models.support import Department

    with portal_app.app_context():
        db.session.query(Department).filter_by(slug="custom").update({"active": False})
        db.session.commit()
    client, _, _ = client_session(portal_app, make_user)
    html = client.get("/support/open/").get_data(as_text=True)
    links = re.findall(r'<a class="department-choice" href="/support/open/([a-z]+)"', html)
    assert links == ["arrendasoft", "moodle", "web", "sima"]  # in their sort order, the inactive one left out
    for name, description in [
        ("Arrendasoft support", "Third parties, properties, contracts, invoices, cash receipts, expense vouchers"),
        ("Moodle support", "Courses, enrolments, certificates, registrations, activities, configuration changes"),
        ("Web pages support", "The web site, WordPress, Joomla, graphic design, animations, social-network"),
        ("SIMA support", "Faults or inconsistencies of SIMA (the medical-administrative information system)"),
    ]:
        assert f"{name}</h4>" in html and description in html
    assert "Custom software support" not in html
    assert client.get("/support/open/custom").status_code == 404
    assert client.get("/support/open/no-such-department").status_code == 404

    client.get("/language/es")
    spanish = client.get("/support/open/").get_data(as_text=True)
    assert "Soporte Moodle</h4>" in spanish
    assert "Cursos, matrículas, certificados, inscripciones, actividades" in spanish


def test_form_is_filled_from_the_account_with_own_services_and_medium_priority(portal_app, make_user):
    client, _, client_id = client_session(portal_app, make_user)
    make_service(portal_app, client_id, "Moodle Campus Virtual")
    _, other_client_id = make_user("otro@competencia.test", "clave-otra-1", "Client")
    make_service(portal_app, other_client_id, "Servicio de la competencia")

    html = client.get("/support/open/moodle").get_data(as_text=True)
    assert '<input class="form-control" value="Laura Gómez" readonly>' in html
    assert '<input class="form-control" value="laura@inmobiliaria.test" readonly>' in html
    assert re.findall(r'<option value="(\d+)" selected>([^<]+)</option>', html) == [
        (str(department_id(portal_app, "moodle")), "Moodle support"), ]
    services = re.search(r'<select class="form-control" name="service_id".*?</select>', html, re.S).group(0)
    assert re.findall(r"<option [^>]*>([^<]+)</option>", services) == ["None", "Moodle Campus Virtual"]
    assert re.findall(r'<option value="(\w+)" selected>', re.search(
        r'name="priority".*?</select>', html, re.S).group(0)) == ["medium"]
    assert "Choose High only when the system does not let you in." in html
    assert 'name="attachments" multiple' in html and 'id="add-attachment"' in html
    assert re.search(r'name="submission_key" value="[0-9a-f]{32}"', html)


def test_opening_a_ticket_writes_the_ticket_and_its_message(portal_app, make_user, smtp_server):
    client, user_id, client_id = client_session(portal_app, make_user)
    service_id = make_service(portal_app, client_id, "Sitio web corporativo")
    staff_session(portal_app, make_user, "web@operador.test", ["web"])
    before = counts(portal_app)

    # Chosen Moodle first, then the department changed to Web pages in the form; no priority sent.
    response = post_ticket(client, portal_app, slug="moodle", department_id=department_id(portal_app, "web"),
                           subject="  El formulario de contacto no envía  ", message="Desde ayer.\n\n- uno\n- dos",
                           service_id=str(service_id), priority=None, submission_key="a1b2c3",
                           files=[("captura.png", PNG), ("informe.pdf", PDF)])
    number = number_of(response)
    row = ticket_row(portal_app, number)
    assert row == {**row, "client_id": client_id, "department": "web", "user_id": user_id, "name": "Laura Gómez",
                   "email": "laura@inmobiliaria.test", "subject": "El formulario de contacto no envía",
                   "service_id": service_id, "priority": "medium", "status": "open", "assignee_id": None,
                   "submission_key": "a1b2c3", "messages": [("Desde ayer.\n\n- uno\n- dos", False, False)]}
    assert counts(portal_app) == {**before, "tickets": before["tickets"] + 1, "messages": before["messages"] + 1,
                                  "attachments": before["attachments"] + 2, "outbox": before["outbox"] + 1}
    assert [m["Subject"] for m in smtp_server.sink.to("web@operador.test")] == [
        f"New ticket #{number}: El formulario de contacto no envía"]

    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert f"Ticket #{number} was opened." in html
    assert f"<h1>#{number} El formulario de contacto no envía</h1>" in html
    assert "Web pages support" in html and "Sitio web corporativo" in html and "Priority: Medium" in html
    assert "<ul>\n<li>uno</li>\n<li>dos</li>\n</ul>" in html


@pytest.mark.parametrize("field,value,error", [
    ("service_id", "OTHER", "Choose one of your services."),
    ("service_id", "987654", "Choose one of your services."),
    ("service_id", "abc", "Choose one of your services."),
    ("department_id", "abc", "Choose a valid department."),
    ("priority", "urgent", "Choose a valid priority."),
    ("department_id", "INACTIVE", "Choose a valid department."),
    ("department_id", "987654", "Choose a valid department."),
    ("subject", "   ", "Write a subject."),
    ("subject", "x" * 201, "The subject can have at most 200 characters."),
    ("message", " \n ", "Write a message."),
])
def test_bad_input_gets_a_clear_error_writes_nothing_and_keeps_the_form(portal_app, make_user, field, value,
                                                                         error):
    from models import db
    from models.support import Department

    client, _, _ = client_session(portal_app, make_user)
    _, other_client_id = make_user("otro@competencia.test", "clave-otra-1", "Client")
    if value == "OTHER":
        value = str(make_service(portal_app, other_client_id, "Servicio de la competencia"))
    if value == "INACTIVE":
        with portal_app.app_context():
            db.session.query(Department).filter_by(slug="custom").update({"active": False})
            db.session.commit()
        value = str(department_id(portal_app, "custom"))
    before = counts(portal_app)
    fields = {"subject": "Asunto escrito", "message": "Mensaje escrito con cuidado", field: value}
    response = post_ticket(client, portal_app, files=[("captura.png", PNG)], submission_key="k1", **fields)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert flash_errors(html) == [error]
    assert counts(portal_app) == before
    if field != "subject":
        assert 'value="Asunto escrito"' in html
    if field != "message":
        assert ">Mensaje escrito con cuidado</textarea>" in html


def test_a_subject_is_one_line(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, subject="Hola\r\nBcc: todos@ejemplo.test\tfin"))
    assert ticket_row(portal_app, number)["subject"] == "Hola Bcc: todos@ejemplo.test fin"


def test_a_subject_cannot_hide_text_behind_direction_overrides(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, subject="Factura \u202egpj.exe\u200b pagada"))
    assert ticket_row(portal_app, number)["subject"] == "Factura gpj.exe pagada"


def test_only_staff_of_the_tickets_department_can_be_assigned(portal_app, make_user):
    agent, agent_id = staff_session(portal_app, make_user, "moodle1@test.test", ["moodle"])
    _, colleague_id = staff_session(portal_app, make_user, "moodle2@test.test", ["moodle"], first_name="Marta")
    _, outsider_id = staff_session(portal_app, make_user, "web1@test.test", ["web"], first_name="Wilson")
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app))
    page = agent.get(f"/staff/ticket/{number}").get_data(as_text=True)
    choices = page.split('id="assignee_id"', 1)[1].split("</select>", 1)[0]
    assert f'value="{colleague_id}"' in choices and f'value="{outsider_id}"' not in choices
    moodle = department_id(portal_app, "moodle")

    refused = agent.post(f"/staff/ticket/{number}/update", data={"assignee_id": str(outsider_id),
                                                                 "department_id": moodle})
    assert "Choose a valid assignee." in agent.get(refused.headers["Location"]).get_data(as_text=True)
    assert ticket_row(portal_app, number)["assignee_id"] is None
    for bad in ("abc", "1.5"):
        agent.post(f"/staff/ticket/{number}/update", data={"assignee_id": bad, "department_id": moodle})
        assert ticket_row(portal_app, number)["assignee_id"] is None

    agent.post(f"/staff/ticket/{number}/update", data={"assignee_id": str(colleague_id), "department_id": moodle})
    assert ticket_row(portal_app, number)["assignee_id"] == colleague_id
    # Moved to a department the assignee does not answer: nobody's until someone there takes it.
    agent.post(f"/staff/ticket/{number}/update", data={"assignee_id": str(colleague_id),
                                                       "department_id": department_id(portal_app, "web")})
    row = ticket_row(portal_app, number)
    assert (row["department"], row["assignee_id"]) == ("web", None)


def test_the_staff_queue_shows_times_in_the_users_zone_and_names(portal_app, make_user):
    agent, _ = staff_session(portal_app, make_user, "moodle1@test.test", ["moodle"])
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app))
    from models import db
    from models.support import Ticket

    with portal_app.app_context():
        db.session.query(Ticket).filter_by(number=number).update(
            {"updated_at": dt.datetime(2022, 3, 23, 16, 56, 30, 123456)})
        db.session.commit()
    queue = agent.get("/staff/tickets/list/").get_data(as_text=True)
    assert "03/23/2022 (11:56 AM)" in queue  # English, America/Bogota
    assert "2022-03-23 16:56" not in queue and ">None<" not in queue


def test_html_and_scripts_in_subject_and_message_are_shown_escaped_never_run(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    staff, _ = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    subject = "<script>alert(1)</script> <img src=x onerror=alert(1)>"
    message = ("**negrita** <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
               "[x](javascript:alert(1)) <a href=\"javascript:alert(1)\">y</a> <b onclick=\"alert(1)\">z</b>\n\n"
               "[ok](https://example.test/guia)")
    number = number_of(post_ticket(client, portal_app, subject=subject, message=message))
    assert ticket_row(portal_app, number)["subject"] == subject  # stored as typed, escaped when shown

    escaped_subject = "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;"
    pages = {
        "client thread": client.get(f"/support/tickets/{number}"),
        "client list": client.get("/support/tickets/"),
        "staff thread": staff.get(f"/staff/ticket/{number}"),
        "staff queue": staff.get("/staff/tickets/list/"),
    }
    for where, page in pages.items():
        assert page.status_code == 200, where
        html = page.get_data(as_text=True)
        assert_no_injected_markup(html)
        if where != "staff queue":
            assert escaped_subject in html, where
    for where in ("client thread", "staff thread"):
        html = pages[where].get_data(as_text=True)
        assert "<strong>negrita</strong>" in html
        assert '<a href="https://example.test/guia" rel="noopener noreferrer nofollow">ok</a>' in html
        assert "<a rel=\"noopener noreferrer nofollow\">x</a>" in html  # the javascript: link lost its href


# --- ticket numbers ------------------------------------------------------------------------------------

def test_numbers_are_six_digits_shown_with_leading_zeros(portal_app, make_user, monkeypatch):
    import models.support

    monkeypatch.setattr(models.support, "_new_number", lambda: "012345")
    client, _, _ = client_session(portal_app, make_user)
    response = post_ticket(client, portal_app, subject="Ceros a la izquierda")
    assert number_of(response) == "012345"
    assert ticket_row(portal_app, "012345")["number"] == "012345"
    assert "<h1>#012345 Ceros a la izquierda</h1>" in client.get("/support/tickets/012345").get_data(as_text=True)
    assert ">#012345 Ceros a la izquierda</a>" in client.get("/support/tickets/").get_data(as_text=True)
    assert client.get("/support/tickets/12345").status_code == 404


def test_the_real_number_generator_gives_six_digits():
    from models.support import _new_number

    numbers = [_new_number() for _ in range(2000)]
    assert all(len(n) == 6 and n.isdigit() for n in numbers)
    assert len(set(numbers)) > 1900  # random, not a sequence of a few values


def test_a_taken_number_is_never_reused_a_new_one_is_drawn(portal_app, make_user, monkeypatch):
    import models.support

    client, _, _ = client_session(portal_app, make_user)
    monkeypatch.setattr(models.support, "_new_number", lambda: "000042")
    assert number_of(post_ticket(client, portal_app, subject="Primero")) == "000042"

    draws = iter(["000042", "000042", "777777"])
    calls = []
    monkeypatch.setattr(models.support, "_new_number", lambda: calls.append(1) or next(draws))
    second = number_of(post_ticket(client, portal_app, subject="Segundo", files=[("captura.png", PNG)]))
    assert second == "777777" and len(calls) == 3
    assert ticket_row(portal_app, "000042")["subject"] == "Primero"
    assert ticket_row(portal_app, "777777")["messages"] == [("Al generar el certificado sale **error 500**.",
                                                              False, False)]
    assert counts(portal_app)["tickets"] == 2 and counts(portal_app)["attachments"] == 1


def test_concurrent_tickets_get_distinct_numbers_even_when_draws_collide(portal_app, make_user, monkeypatch):
    import models.support

    threads = 5
    sessions = [client_session(portal_app, make_user, email=f"user{i}@inmobiliaria.test")[0] for i in range(threads)]
    # Every thread's first draw is the same number; later draws are fresh: all but one must retry.
    local, fresh, lock = threading.local(), itertools.count(500000), threading.Lock()

    def draw():
        if not getattr(local, "drawn", False):
            local.drawn = True
            return "424242"
        with lock:
            return f"{next(fresh):06d}"

    monkeypatch.setattr(models.support, "_new_number", draw)
    responses = run_together([
        (lambda c=c, i=i: post_ticket(c, portal_app, subject=f"Simultáneo {i}", files=[("c.png", PNG)]))
        for i, c in enumerate(sessions)])
    numbers = [number_of(r) for r in responses]
    assert len(set(numbers)) == threads
    assert numbers.count("424242") == 1
    for i, number in enumerate(numbers):
        row = ticket_row(portal_app, number)
        assert row["subject"] == f"Simultáneo {i}" and len(row["messages"]) == 1
    assert counts(portal_app)["tickets"] == threads and counts(portal_app)["attachments"] == threads


def test_concurrent_creation_with_the_real_generator(portal_app, make_user):
    sessions = [client_session(portal_app, make_user, email=f"user{i}@inmobiliaria.test")[0] for i in range(5)]
    responses = run_together([(lambda c=c: post_ticket(c, portal_app)) for c in sessions])
    numbers = [number_of(r) for r in responses]
    assert len(set(numbers)) == 5 and all(len(n) == 6 and n.isdigit() for n in numbers)
    assert counts(portal_app)["tickets"] == 5 and counts(portal_app)["messages"] == 5


# --- double submits --------------------------------------------------------------------------------------

def test_the_same_form_posted_twice_opens_one_ticket(portal_app, make_user):
    from pathlib import Path

    client, _, _ = client_session(portal_app, make_user)
    first = post_ticket(client, portal_app, submission_key="f0rm1", files=[("captura.png", PNG)])
    after_first = counts(portal_app)
    second = post_ticket(client, portal_app, submission_key="f0rm1", files=[("captura.png", PNG)])
    assert number_of(second) == number_of(first)
    assert counts(portal_app) == after_first
    assert after_first["tickets"] == 1 and after_first["messages"] == 1 and after_first["attachments"] == 1
    assert len(list(Path(portal_app.config["ATTACHMENT_DIR"]).iterdir())) == 1
    # A new form (a new key) is a new ticket.
    assert number_of(post_ticket(client, portal_app, submission_key="f0rm2")) != number_of(first)


def test_the_same_form_posted_at_once_from_several_threads_opens_one_ticket(portal_app, make_user):
    from pathlib import Path

    client, _, _ = client_session(portal_app, make_user)
    clients = same_session(portal_app, client, 4)
    responses = run_together([(lambda c=c: post_ticket(c, portal_app, submission_key="same", files=[("a.png", PNG)]))
                              for c in clients])
    assert len({number_of(r) for r in responses}) == 1
    totals = counts(portal_app)
    assert (totals["tickets"], totals["messages"], totals["attachments"]) == (1, 1, 1)
    assert len(list(Path(portal_app.config["ATTACHMENT_DIR"]).iterdir())) == 1


def test_another_clients_submission_key_neither_returns_nor_reveals_their_ticket(portal_app, make_user):
    owner, _, _ = client_session(portal_app, make_user, email="uno@empresa.test")
    theirs = number_of(post_ticket(owner, portal_app, submission_key="shared"))
    other, _, other_client_id = client_session(portal_app, make_user, email="dos@otra.test")
    mine = number_of(post_ticket(other, portal_app, submission_key="shared", subject="Mío"))
    assert mine != theirs
    row = ticket_row(portal_app, mine)
    assert row["client_id"] == other_client_id and row["subject"] == "Mío"


def test_the_same_reply_posted_twice_adds_one_message(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app))
    for _ in range(2):
        response = client.post(f"/support/tickets/{number}/reply", data={
            "message": "Adjunto captura", "submission_key": "r1", "attachments": [(io.BytesIO(PNG), "c.png")]},
            content_type="multipart/form-data")
        assert response.status_code == 302
    assert [m[0] for m in ticket_row(portal_app, number)["messages"]] == [
        "Al generar el certificado sale **error 500**.", "Adjunto captura"]
    assert counts(portal_app)["attachments"] == 1

    staff, _ = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    for _ in range(2):
        assert staff.post(f"/staff/ticket/{number}/reply",
                          data={"message": "Revisando", "submission_key": "s1"}).status_code == 302
    assert [m[0] for m in ticket_row(portal_app, number)["messages"]][2:] == ["Revisando"]


def test_the_same_reply_posted_at_once_adds_one_message(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app))
    clients = same_session(portal_app, client, 4)
    responses = run_together([
        (lambda c=c: c.post(f"/support/tickets/{number}/reply", data={"message": "Una vez", "submission_key": "r9"}))
        for c in clients])
    assert [r.status_code for r in responses] == [302] * 4
    assert [m[0] for m in ticket_row(portal_app, number)["messages"]].count("Una vez") == 1


# --- statuses ----------------------------------------------------------------------------------------------

def test_statuses_follow_the_conversation(portal_app, make_user, smtp_server):
    client, _, _ = client_session(portal_app, make_user)
    staff, _ = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    number = number_of(post_ticket(client, portal_app))
    status = lambda: ticket_row(portal_app, number)["status"]  # noqa: E731

    def client_reply(text):
        assert client.post(f"/support/tickets/{number}/reply", data={"message": text}).status_code == 302

    def staff_reply(text, **extra):
        assert staff.post(f"/staff/ticket/{number}/reply", data={"message": text, **extra}).status_code == 302

    client_reply("Otro dato")
    assert status() == "open"  # nobody answered yet
    staff_reply("Lo revisamos")
    assert status() == "answered"
    mails = smtp_server.sink.to("laura@inmobiliaria.test")
    assert [m["Subject"] for m in mails] == [f"Ticket #{number} answered: No cargan los certificados"]
    assert "Lo revisamos" in mails[0].get_content()
    client_reply("Sigue igual")
    assert status() == "customer_reply"
    staff_reply("Escalado a desarrollo", status="in_progress")
    assert status() == "in_progress"
    for finished in ("resolved", "closed"):
        set_status(portal_app, number, finished)
        before = ticket_row(portal_app, number)["updated_at"]
        client_reply(f"Volvió a pasar ({finished})")
        row = ticket_row(portal_app, number)
        assert row["status"] == "customer_reply"  # reopened, the message kept
        assert row["messages"][-1] == (f"Volvió a pasar ({finished})", False, False)
        assert row["updated_at"] >= before
    assert "Customer-Reply" in client.get(f"/support/tickets/{number}").get_data(as_text=True)
    # A client cannot set a status nor write an internal note through the form.
    assert client.post(f"/support/tickets/{number}/reply",
                       data={"message": "x", "internal": "1", "status": "closed"}).status_code == 302
    assert ticket_row(portal_app, number)["messages"][-1] == ("x", False, False)
    assert status() == "customer_reply"


def test_internal_note_is_never_shown_to_the_client_nor_emailed(portal_app, make_user, smtp_server):
    from models import db
    from models.outbox import OutboxMessage

    client, _, _ = client_session(portal_app, make_user)
    staff, _ = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    number = number_of(post_ticket(client, portal_app))
    before = ticket_row(portal_app, number)
    outbox_before = counts(portal_app)["outbox"]

    response = staff.post(f"/staff/ticket/{number}/reply",
                          data={"message": "NOTA-SECRETA: el cliente debe la factura", "internal": "1"})
    assert response.status_code == 302
    after = ticket_row(portal_app, number)
    assert after["messages"][-1] == ("NOTA-SECRETA: el cliente debe la factura", True, True)
    assert (after["status"], after["updated_at"]) == (before["status"], before["updated_at"])
    assert counts(portal_app)["outbox"] == outbox_before
    with portal_app.app_context():
        assert db.session.query(OutboxMessage).filter(
            OutboxMessage.recipient == "laura@inmobiliaria.test").count() == 0
    assert smtp_server.sink.to("laura@inmobiliaria.test") == []

    client_page = client.get(f"/support/tickets/{number}").get_data(as_text=True)
    assert "NOTA-SECRETA" not in client_page and "Internal note" not in client_page
    assert "NOTA-SECRETA" not in client.get("/support/tickets/").get_data(as_text=True)
    staff_page = staff.get(f"/staff/ticket/{number}").get_data(as_text=True)
    assert "NOTA-SECRETA" in staff_page and "Internal note</span>" in staff_page

    # The next public reply e-mails the client the reply only.
    staff.post(f"/staff/ticket/{number}/reply", data={"message": "Ya quedó"})
    mails = smtp_server.sink.to("laura@inmobiliaria.test")
    assert len(mails) == 1 and "NOTA-SECRETA" not in mails[0].get_content()


def test_the_client_closes_the_ticket_with_the_close_button(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app))
    page = client.get(f"/support/tickets/{number}").get_data(as_text=True)
    assert f'action="/support/tickets/{number}/close"' in page and 'id="close-ticket"' in page
    response = client.post(f"/support/tickets/{number}/close")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/support/tickets/{number}")
    assert ticket_row(portal_app, number)["status"] == "closed"
    page = client.get(f"/support/tickets/{number}").get_data(as_text=True)
    assert "The ticket was closed." in page and 'id="close-ticket"' not in page
    assert ">Closed</span>" in page
    assert client.post(f"/support/tickets/{number}/close").status_code == 302  # again: still closed, no error
    assert ticket_row(portal_app, number)["status"] == "closed"


def test_a_refused_staff_reply_keeps_the_typed_text(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    staff, _ = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    number = number_of(post_ticket(client, portal_app))
    before = counts(portal_app)
    response = staff.post(f"/staff/ticket/{number}/reply", data={
        "message": "Respuesta larga que no se debe perder", "internal": "1", "submission_key": "st1",
        "attachments": [(io.BytesIO(b"MZ\x90\x00"), "parche.exe")]}, content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert ">Respuesta larga que no se debe perder</textarea>" in html
    assert 'id="internal" checked' in html
    assert counts(portal_app) == before


# --- the ticket list ----------------------------------------------------------------------------------------

def _list_numbers(html):
    return re.findall(r'<a href="/support/tickets/(\d{6})">', html)


def _showing(html):
    return re.search(r'<p id="showing">(.*?)</p>', html).group(1)


def _demo_order(app, descending=True, status=None):
    from sqlalchemy import select

    from models import db
    from models.support import Ticket

    with app.app_context():
        query = select(Ticket.number)
        if status:
            query = query.where(Ticket.status == status)
        order = Ticket.updated_at.desc() if descending else Ticket.updated_at.asc()
        return list(db.session.scalars(query.order_by(order, Ticket.id.desc())))


def test_list_shows_ten_a_page_with_the_entries_line_and_columns(demo_app):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    client.get("/language/en")
    html = client.get("/support/tickets/").get_data(as_text=True)
    assert _showing(html) == "Showing 1 to 10 of 63 entries"
    assert len(_list_numbers(html)) == 10
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    assert [" ".join(re.sub(r"<[^>]+>", " ", th).split()) for th in re.findall(r"<th>(.*?)</th>", head, re.S)] == [
        "Department", "Subject", "Status", "Last update"]
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", html, re.S).group(1)
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", first_row, re.S)]
    assert cells[0] in {"Arrendasoft support", "Moodle support", "Web pages support", "SIMA support",
                        "Custom software support"}
    assert re.fullmatch(r'<a href="/support/tickets/\d{6}">#\d{6} .+</a>', cells[1])
    assert re.fullmatch(r'<span class="label label-\w+">[A-Za-z -]+</span>', cells[2])
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \(\d{1,2}:\d\d [AP]M\)", cells[3])
    last = client.get("/support/tickets/?page=7").get_data(as_text=True)
    assert _showing(last) == "Showing 61 to 63 of 63 entries" and len(_list_numbers(last)) == 3
    all_numbers = [n for p in range(1, 8) for n in _list_numbers(
        client.get(f"/support/tickets/?page={p}").get_data(as_text=True))]
    assert all_numbers == _demo_order(demo_app)


def test_list_sorts_by_last_update_both_ways(demo_app):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    newest_first = _demo_order(demo_app)
    assert _list_numbers(client.get("/support/tickets/").get_data(as_text=True)) == newest_first[:10]
    assert _list_numbers(client.get("/support/tickets/?sort=updated&dir=desc").get_data(as_text=True)) == \
        newest_first[:10]
    oldest_first = _demo_order(demo_app, descending=False)
    assert _list_numbers(client.get("/support/tickets/?sort=updated&dir=asc").get_data(as_text=True)) == \
        oldest_first[:10]
    assert _list_numbers(client.get("/support/tickets/?sort=updated&dir=asc&page=2").get_data(as_text=True)) == \
        oldest_first[10:20]
    # The header link flips the direction.
    html = client.get("/support/tickets/?sort=updated&dir=desc").get_data(as_text=True)
    assert 'href="/support/tickets/?sort=updated&amp;dir=asc"' in html
    # Unknown sort keys fall back to last update.
    assert _list_numbers(client.get("/support/tickets/?sort=password&dir=sideways").get_data(as_text=True)) == \
        newest_first[:10]


def test_list_filters_by_status(demo_app):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    client.get("/language/en")
    labels = {"open": "Open", "answered": "Answered", "customer_reply": "Customer-Reply",
              "in_progress": "In Progress", "on_hold": "On Hold", "resolved": "Resolved", "closed": "Closed"}
    total = 0
    for status, label in labels.items():
        expected = _demo_order(demo_app, status=status)
        assert expected, status
        html = client.get(f"/support/tickets/?status={status}").get_data(as_text=True)
        assert _list_numbers(html) == expected[:10]
        body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
        assert set(re.findall(r'<span class="label label-\w+">([^<]+)</span>', body)) == {label}
        assert _showing(html) == f"Showing 1 to {min(10, len(expected))} of {len(expected)} entries"
        assert f'<option value="{status}" selected>' in html
        total += len(expected)
    assert total == 63
    assert _showing(client.get("/support/tickets/?status=bogus").get_data(as_text=True)) == \
        "Showing 1 to 10 of 63 entries"


@pytest.mark.parametrize("page,expected_page", [
    ("abc", 1), ("0", 1), ("-5", 1), ("999", 7), ("1.5", 1), ("", 1), ("99999999999999999999999", 7),
    ("%00", 1), ("3", 3),
])
def test_out_of_range_or_non_numeric_pages_land_on_a_real_page(demo_app, page, expected_page):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    client.get("/language/en")
    response = client.get(f"/support/tickets/?page={page}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    first = (expected_page - 1) * 10 + 1
    assert _showing(html) == f"Showing {first} to {min(first + 9, 63)} of 63 entries"
    assert _list_numbers(html) == _demo_order(demo_app)[first - 1:first + 9]
    assert f'<li class="active"><a href="/support/tickets/?page={expected_page}' in html


def test_an_empty_list_and_a_filter_past_its_end(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    html = client.get("/support/tickets/?page=4").get_data(as_text=True)
    assert _showing(html) == "Showing 0 to 0 of 0 entries" and "No tickets to show." in html
    assert client.get("/support/tickets/?status=closed&page=-1").status_code == 200


def test_dates_are_shown_in_the_users_time_zone_and_language(portal_app, make_user):
    from models import db
    from models.accounts import UserPreference

    client, user_id, client_id = client_session(portal_app, make_user, english=False)
    add_tickets(portal_app, client_id, 1, updated=dt.datetime(2022, 3, 23, 16, 56))  # UTC
    html = client.get("/support/tickets/").get_data(as_text=True)
    assert "<td>23/03/2022 (11:56)</td>" in html  # Bogotá, UTC-5, the Spanish format
    client.get("/language/en")
    assert "<td>03/23/2022 (11:56 AM)</td>" in client.get("/support/tickets/").get_data(as_text=True)
    with portal_app.app_context():
        db.session.get(UserPreference, user_id).timezone = "Europe/Madrid"
        db.session.commit()
    assert "<td>03/23/2022 (5:56 PM)</td>" in client.get("/support/tickets/").get_data(as_text=True)


def test_the_number_of_sql_statements_does_not_grow_with_the_data(demo_app, make_user):
    big = demo_app.test_client()
    login(big, "cliente@demo.test", "cliente")
    small, _, small_client_id = client_session(demo_app, make_user, email="pequena@empresa.test", english=False)
    add_tickets(demo_app, small_client_id, 10)

    def count(client, url):
        client.get(url)  # warm up whatever is cached per process
        with statements(demo_app) as seen:
            response = client.get(url)
        assert response.status_code == 200
        return len(seen)

    page_1 = count(big, "/support/tickets/")
    assert page_1 == count(big, "/support/tickets/?page=5")
    assert page_1 == count(big, "/support/tickets/?page=7")
    assert page_1 == count(big, "/support/tickets/?status=closed")
    assert page_1 == count(small, "/support/tickets/")
    assert page_1 <= 15  # a handful of statements, not one per ticket


# --- who sees what -------------------------------------------------------------------------------------------

def test_another_clients_ticket_answers_404_and_nothing_changes(portal_app, make_user):
    owner, _, _ = client_session(portal_app, make_user, email="uno@empresa.test")
    number = number_of(post_ticket(owner, portal_app))
    before = ticket_row(portal_app, number)
    counts_before = counts(portal_app)

    other, _, _ = client_session(portal_app, make_user, email="dos@otra.test")
    assert other.get(f"/support/tickets/{number}").status_code == 404
    assert other.post(f"/support/tickets/{number}/reply", data={"message": "intruso"}).status_code == 404
    assert other.post(f"/support/tickets/{number}/close").status_code == 404
    assert number not in other.get("/support/tickets/").get_data(as_text=True)
    assert ticket_row(portal_app, number) == before
    assert counts(portal_app) == counts_before
    assert owner.get("/support/tickets/999999").status_code == 404
    assert owner.get("/support/tickets/abc").status_code == 404


def test_a_contact_without_the_tickets_scope_is_refused(portal_app, make_user):
    owner, _, client_id = client_session(portal_app, make_user, email="dueno@empresa.test")
    number = number_of(post_ticket(owner, portal_app))
    accountant, _, _ = client_session(portal_app, make_user, email="contador@empresa.test", client=client_id,
                                      scopes="invoices", owner=False)
    assert accountant.get("/support/tickets/").status_code == 403
    assert accountant.get(f"/support/tickets/{number}").status_code == 403
    assert accountant.get("/support/open/moodle").status_code == 403
    helper, _, _ = client_session(portal_app, make_user, email="sistemas@empresa.test", client=client_id,
                                  scopes="tickets", owner=False)
    assert helper.get(f"/support/tickets/{number}").status_code == 200


def test_staff_of_another_department_get_404_and_nothing_changes(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, slug="moodle"))
    before, counts_before = ticket_row(portal_app, number), counts(portal_app)
    web, _ = staff_session(portal_app, make_user, "web@operador.test", ["web"])
    assert web.get(f"/staff/ticket/{number}").status_code == 404
    assert web.post(f"/staff/ticket/{number}/reply", data={"message": "no es mío"}).status_code == 404
    assert web.post(f"/staff/ticket/{number}/update", data={"status": "closed", "priority": "low"}).status_code == 404
    assert ticket_row(portal_app, number) == before and counts(portal_app) == counts_before
    moodle, _ = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    assert moodle.get(f"/staff/ticket/{number}").status_code == 200
    # A client never reaches the staff pages.
    assert client.get(f"/staff/ticket/{number}").status_code in (302, 403, 404)
    assert client.post(f"/staff/ticket/{number}/update", data={"status": "closed"}).status_code in (302, 403, 404)
    assert ticket_row(portal_app, number)["status"] == "open"


def test_the_staff_queue_lists_only_their_departments(demo_app):
    from sqlalchemy import select

    from models import db
    from models.support import Department, Ticket

    with demo_app.app_context():
        by_department = {}
        for slug, number in db.session.execute(select(Department.slug, Ticket.number).join(Ticket.department)):
            by_department.setdefault(slug, set()).add(number)
    staff = demo_app.test_client()
    login(staff, "agente@demo.test", "agente")
    html = staff.get("/staff/tickets/list/").get_data(as_text=True)
    shown = set(re.findall(r'href="/staff/ticket/(\d{6})"', html))
    assert shown == by_department["arrendasoft"] and len(shown) == 20
    moodle = demo_app.test_client()
    login(moodle, "moodle@demo.test", "agente")
    assert set(re.findall(r'href="/staff/ticket/(\d{6})"', moodle.get("/staff/tickets/list/").get_data(
        as_text=True))) == by_department["moodle"]
    admin = demo_app.test_client()
    login(admin, "admin@demo.test", "admin")
    some_moodle_ticket = sorted(by_department["moodle"])[0]
    assert admin.get(f"/staff/ticket/{some_moodle_ticket}").status_code == 200
    assert staff.get(f"/staff/ticket/{some_moodle_ticket}").status_code == 404


def test_staff_moving_a_ticket_out_of_their_departments_lands_on_the_queue(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, slug="moodle"))
    staff, _ = staff_session(portal_app, make_user, "agente@operador.test", ["moodle", "web"])
    inside = staff.post(f"/staff/ticket/{number}/update", data={"department_id": department_id(portal_app, "web")})
    assert inside.status_code == 302 and inside.headers["Location"].endswith(f"/staff/ticket/{number}")
    assert ticket_row(portal_app, number)["department"] == "web"
    outside = staff.post(f"/staff/ticket/{number}/update", data={"department_id": department_id(portal_app, "sima")})
    assert outside.status_code == 302 and outside.headers["Location"].endswith("/staff/tickets/list/")
    assert ticket_row(portal_app, number)["department"] == "sima"
    assert staff.get(f"/staff/ticket/{number}").status_code == 404
    assert staff.get(outside.headers["Location"]).status_code == 200


def test_staff_update_changes_status_priority_and_assignee_and_refuses_bad_values(portal_app, make_user):
    client, client_user_id, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, slug="moodle"))
    staff, staff_id = staff_session(portal_app, make_user, "moodle@operador.test", ["moodle"])
    ok = staff.post(f"/staff/ticket/{number}/update",
                    data={"status": "on_hold", "priority": "high", "assignee_id": str(staff_id)})
    assert ok.status_code == 302
    row = ticket_row(portal_app, number)
    assert (row["status"], row["priority"], row["assignee_id"]) == ("on_hold", "high", staff_id)

    for bad in ({"status": "resolved", "priority": "extreme"},
                {"status": "resolved", "assignee_id": str(client_user_id)},  # a client is not an assignee
                {"status": "resolved", "assignee_id": "987654"},
                {"status": "deleted"}):
        staff.post(f"/staff/ticket/{number}/update", data=bad)
        after = ticket_row(portal_app, number)
        assert (after["status"], after["priority"], after["assignee_id"]) == ("on_hold", "high", staff_id), bad
    staff.post(f"/staff/ticket/{number}/update", data={"assignee_id": "none"})
    assert ticket_row(portal_app, number)["assignee_id"] is None
