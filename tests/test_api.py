"""The REST API (/api/v1/...): JWT only, restricted exactly like the pages, and the same
ticket operations (open, reply) the pages use."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import db
from models.accounts import Contact
from models.catalog import Domain, Service
from models.outbox import OutboxMessage
from models.support import Department, Ticket, TicketMessage
from plugins.testing import login


def token(client, email, password):
    response = client.post("/api/v1/security/login", json={"username": email, "password": password,
                                                           "provider": "db", "refresh": False})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


class Api:
    """A test client that sends one user's bearer token."""

    def __init__(self, app, email, password):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token(self.client, email, password)}"}

    def __getattr__(self, method):  # get, post, put, delete
        def call(url, **kwargs):
            return getattr(self.client, method)(url, headers=self.headers, **kwargs)
        return call


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def department_tickets(app, slug):
    with app.app_context():
        return set(db.session.scalars(select(Ticket.id).join(Department).where(Department.slug == slug)))


def ticket_of(app, email, *where):
    with app.app_context():
        return db.session.scalars(select(Ticket).where(Ticket.email == email, *where).order_by(Ticket.id)).first()


@pytest.fixture
def other_client(demo_app, make_user):
    """A second client company with one ticket of its own (in the Arrendasoft department)."""
    user_id, client_id = make_user("otro@empresa.test", "otro-pass", first_name="Otra", last_name="Empresa")
    api = Api(demo_app, "otro@empresa.test", "otro-pass")
    response = api.post("/api/v1/tickets/", json={"department": "arrendasoft", "subject": "Ticket de otra empresa",
                                                  "message": "Privado."})
    assert response.status_code == 201, response.get_json()
    return {"api": api, "client_id": client_id, "ticket_id": response.get_json()["id"]}


# --- authentication -----------------------------------------------------------------------------------


API_URLS = ["/api/v1/tickets/", "/api/v1/tickets/1", "/api/v1/tickets/1/messages", "/api/v1/services/",
            "/api/v1/domains/", "/api/v1/departments/", "/api/v1/tickets/_info"]


def test_requests_without_a_valid_token_are_401(demo_app):
    client = demo_app.test_client()
    for url in API_URLS:
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code in (401, 422), url
    assert client.post("/api/v1/tickets/", json={"department": "moodle", "subject": "s", "message": "m"}) \
        .status_code == 401
    assert client.post("/api/v1/tickets/1/reply", json={"message": "m"}).status_code == 401
    # An expired token is refused too.
    import datetime as dt

    from flask_jwt_extended import create_access_token

    with demo_app.test_request_context():
        user = demo_app.appbuilder.sm.find_user(email="cliente@demo.test")
        expired = create_access_token(identity=str(user.id), expires_delta=dt.timedelta(seconds=-10))
    assert client.get("/api/v1/tickets/", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_a_browser_session_cookie_alone_is_not_accepted(demo_app):
    browser = demo_app.test_client()
    assert login(browser, "cliente@demo.test", "cliente").status_code == 302
    assert browser.get("/support/tickets/").status_code == 200  # the cookie works for pages
    for url in ("/api/v1/tickets/", "/api/v1/services/", "/api/v1/departments/"):
        assert browser.get(url).status_code == 401
    before = count(demo_app, Ticket)
    response = browser.post("/api/v1/tickets/", json={"department": "moodle", "subject": "s", "message": "m"})
    assert response.status_code == 401
    assert count(demo_app, Ticket) == before


def test_the_token_decides_who_the_caller_is_not_the_cookie(demo_app, other_client):
    # A browser signed in as cliente@ sending the other company's token acts as that company.
    browser = demo_app.test_client()
    login(browser, "cliente@demo.test", "cliente")
    response = browser.get("/api/v1/tickets/", headers=other_client["api"].headers)
    assert response.status_code == 200
    assert response.get_json()["ids"] == [other_client["ticket_id"]]


# --- tickets: who sees what -------------------------------------------------------------------------------


def test_client_lists_only_its_accounts_tickets(demo_app, other_client):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    response = api.get("/api/v1/tickets/?q=(page_size:100)")
    assert response.status_code == 200
    data = response.get_json()
    assert data["count"] == 63 and len(data["ids"]) == 63
    assert other_client["ticket_id"] not in data["ids"]
    # The contact with the tickets scope sees the same account's tickets.
    assert Api(demo_app, "soporte@losandes.test", "soporte").get("/api/v1/tickets/").get_json()["count"] == 63
    # And the other company sees its one ticket.
    other = other_client["api"].get("/api/v1/tickets/").get_json()
    assert (other["count"], other["ids"]) == (1, [other_client["ticket_id"]])
    assert other["result"][0]["subject"] == "Ticket de otra empresa"


def test_another_clients_ticket_is_404(demo_app, other_client):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    pk = other_client["ticket_id"]
    assert api.get(f"/api/v1/tickets/{pk}").status_code == 404
    assert api.get(f"/api/v1/tickets/{pk}/messages").status_code == 404
    before = count(demo_app, TicketMessage)
    assert api.post(f"/api/v1/tickets/{pk}/reply", json={"message": "¿Hola?"}).status_code == 404
    assert count(demo_app, TicketMessage) == before
    own = ticket_of(demo_app, "cliente@demo.test")
    shown = api.get(f"/api/v1/tickets/{own.id}")
    assert shown.status_code == 200 and shown.get_json()["result"]["number"] == own.number


def test_staff_see_their_departments_tickets_and_admins_all(demo_app, other_client):
    arrendasoft = department_tickets(demo_app, "arrendasoft")
    assert other_client["ticket_id"] in arrendasoft
    staff = Api(demo_app, "agente@demo.test", "agente")
    data = staff.get("/api/v1/tickets/?q=(page_size:100)").get_json()
    assert data["count"] == len(arrendasoft) == 21  # 20 demo tickets + the other company's
    assert set(data["ids"]) == arrendasoft

    moodle_ticket = min(department_tickets(demo_app, "moodle"))
    assert staff.get(f"/api/v1/tickets/{moodle_ticket}").status_code == 404
    assert staff.get(f"/api/v1/tickets/{moodle_ticket}/messages").status_code == 404
    assert staff.post(f"/api/v1/tickets/{moodle_ticket}/reply", json={"message": "x"}).status_code == 404
    assert Api(demo_app, "moodle@demo.test", "agente").get(f"/api/v1/tickets/{moodle_ticket}").status_code == 200

    admin = Api(demo_app, "admin@demo.test", "admin")
    assert admin.get("/api/v1/tickets/").get_json()["count"] == 64


# --- opening a ticket ---------------------------------------------------------------------------------------


def test_client_opens_a_ticket(demo_app, smtp_server):
    api = Api(demo_app, "soporte@losandes.test", "soporte")
    response = api.post("/api/v1/tickets/", json={"department": "web", "subject": "<script>alert(1)</script> Banner",
                                                  "message": "Cambiar el **banner**.", "priority": "high"})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert len(created["number"]) == 6 and created["number"].isdigit() and created["status"] == "open"

    shown = api.get(f"/api/v1/tickets/{created['id']}").get_json()["result"]
    assert shown["subject"] == "<script>alert(1)</script> Banner"  # stored as the text typed
    assert (shown["priority"], shown["department"], shown["email"]) == (
        "high", {"slug": "web"}, "soporte@losandes.test")
    with demo_app.app_context():
        ticket = db.session.get(Ticket, created["id"])
        assert ticket.client_id == db.session.scalar(select(Contact.client_id).where(
            Contact.email == "soporte@losandes.test"))
        assert [m.body for m in ticket.messages] == ["Cambiar el **banner**."]
    # ... and shown as text on the page, never run.
    browser = demo_app.test_client()
    login(browser, "soporte@losandes.test", "soporte")
    page = browser.get(f"/support/tickets/{created['number']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Banner" in page and "<script>alert(1)" not in page
    # The department's staff heard of it, as from the pages.
    assert [m["To"] for m in smtp_server.messages] == ["web@demo.test"]


INVALID_TICKETS = [
    ({"subject": "s", "message": "m"}, "department"),
    ({"department": "no-such", "subject": "s", "message": "m"}, "department"),
    ({"department": "moodle", "message": "m"}, "subject"),
    ({"department": "moodle", "subject": "   ", "message": "m"}, "subject"),
    ({"department": "moodle", "subject": "x" * 201, "message": "m"}, "subject"),
    ({"department": "moodle", "subject": "s", "message": ""}, "message"),
    ({"department": "moodle", "subject": "s", "message": "m", "priority": "urgent"}, "priority"),
    ({"department": "moodle", "subject": "s", "message": "m", "service_id": "abc"}, "service_id"),
    ({"department": "moodle", "subject": "s", "message": "m", "service_id": 999999}, "service_id"),
    ({"department": "moodle", "subject": "s", "message": "m", "submission_key": "no spaces!"}, "submission_key"),
    ({"department": "moodle", "subject": "s", "message": "m", "owner": "me"}, "owner"),
]


def test_invalid_tickets_are_422_with_field_messages_and_write_nothing(demo_app):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    before = count(demo_app, Ticket), count(demo_app, TicketMessage), count(demo_app, OutboxMessage)
    for payload, field in INVALID_TICKETS:
        response = api.post("/api/v1/tickets/", json=payload)
        assert response.status_code == 422, (payload, response.get_json())
        errors = response.get_json()["message"]
        assert list(errors) == [field] and all(isinstance(m, str) and m for m in errors[field]), (payload, errors)
    for body in ("not json", "[1, 2]"):
        response = api.post("/api/v1/tickets/", data=body, content_type="application/json")
        assert response.status_code in (400, 422), body
    assert (count(demo_app, Ticket), count(demo_app, TicketMessage), count(demo_app, OutboxMessage)) == before


def test_ticket_errors_are_translated(demo_app):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    response = api.post("/api/v1/tickets/", json={"department": "no-such", "subject": "s", "message": "m"})
    assert response.get_json()["message"] == {"department": ["Elija un departamento válido."]}
    # Flask-AppBuilder's language argument picks English.
    response = api.post("/api/v1/tickets/?_l_=en", json={"department": "no-such", "subject": " ", "message": "m"})
    assert response.get_json()["message"] == {"subject": ["This field is required."]}
    response = api.post("/api/v1/tickets/?_l_=en", json={"department": "no-such", "subject": "s", "message": "m"})
    assert response.get_json()["message"] == {"department": ["Choose a valid department."]}


def test_another_clients_service_is_refused(demo_app, other_client):
    with demo_app.app_context():
        theirs = Service(client_id=other_client["client_id"], name="Su servicio")
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
        ours = db.session.scalar(select(Service.id).where(Service.client_id != other_client["client_id"]))
    api = Api(demo_app, "cliente@demo.test", "cliente")
    before = count(demo_app, Ticket)
    response = api.post("/api/v1/tickets/", json={"department": "moodle", "subject": "s", "message": "m",
                                                  "service_id": theirs_id})
    assert response.status_code == 422 and list(response.get_json()["message"]) == ["service_id"]
    assert count(demo_app, Ticket) == before
    response = api.post("/api/v1/tickets/", json={"department": "moodle", "subject": "s", "message": "m",
                                                  "service_id": ours})
    assert response.status_code == 201
    assert api.get(f"/api/v1/tickets/{response.get_json()['id']}").get_json()["result"]["service_id"] == ours


def test_the_same_submission_twice_opens_one_ticket(demo_app, other_client):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    payload = {"department": "moodle", "subject": "Doble envío", "message": "m", "submission_key": "form42"}
    first = api.post("/api/v1/tickets/", json=payload)
    second = api.post("/api/v1/tickets/", json=payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json() == second.get_json()
    assert count(demo_app, Ticket, Ticket.subject == "Doble envío") == 1
    # Another company using the same key gets a ticket of its own, never this one.
    theirs = other_client["api"].post("/api/v1/tickets/", json=payload)
    assert theirs.status_code == 201 and theirs.get_json()["id"] != first.get_json()["id"]
    with demo_app.app_context():
        assert db.session.get(Ticket, theirs.get_json()["id"]).client_id == other_client["client_id"]


def test_who_may_not_open_tickets(demo_app, make_user):
    with demo_app.app_context():
        client_id = db.session.scalar(select(Contact.client_id).where(Contact.email == "cliente@demo.test"))
    make_user("facturas@losandes.test", "facturas-pass", client=client_id, owner=False, scopes="invoices")
    payload = {"department": "moodle", "subject": "s", "message": "m"}
    before = count(demo_app, Ticket)
    assert Api(demo_app, "facturas@losandes.test", "facturas-pass").post(
        "/api/v1/tickets/", json=payload).status_code == 403  # no tickets scope
    assert Api(demo_app, "agente@demo.test", "agente").post(
        "/api/v1/tickets/", json=payload).status_code == 403  # staff have no client account
    assert count(demo_app, Ticket) == before
    # Without the tickets scope the ticket API is refused, as the ticket pages are.
    assert Api(demo_app, "facturas@losandes.test", "facturas-pass").get("/api/v1/tickets/").status_code == 403


# --- replies and the thread ------------------------------------------------------------------------------------


def test_client_and_staff_reply_and_internal_notes_stay_internal(demo_app, smtp_server):
    ticket = ticket_of(demo_app, "soporte@losandes.test", Ticket.department_id.in_(
        select(Department.id).where(Department.slug == "arrendasoft")), Ticket.status == "answered")
    client = Api(demo_app, "soporte@losandes.test", "soporte")
    staff = Api(demo_app, "agente@demo.test", "agente")

    response = client.post(f"/api/v1/tickets/{ticket.id}/reply", json={"message": "Sigue fallando."})
    assert response.status_code == 201 and response.get_json()["status"] == "customer_reply"
    note = staff.post(f"/api/v1/tickets/{ticket.id}/reply", json={"message": "Nota: revisar logs.",
                                                                   "internal": True})
    assert note.status_code == 201 and note.get_json()["status"] == "customer_reply"
    answer = staff.post(f"/api/v1/tickets/{ticket.id}/reply", json={"message": "Corregido.", "status": "resolved"})
    assert answer.status_code == 201 and answer.get_json()["status"] == "resolved"

    seen_by_client = client.get(f"/api/v1/tickets/{ticket.id}/messages").get_json()["result"]
    seen_by_staff = staff.get(f"/api/v1/tickets/{ticket.id}/messages").get_json()["result"]
    assert "Nota: revisar logs." not in [m["body"] for m in seen_by_client]
    assert not any(m["internal"] for m in seen_by_client)
    assert [m["body"] for m in seen_by_client][-2:] == ["Sigue fallando.", "Corregido."]
    assert [m["body"] for m in seen_by_staff][-3:] == ["Sigue fallando.", "Nota: revisar logs.", "Corregido."]
    assert seen_by_staff[-1]["author"] == "Andrés Agente" and seen_by_staff[-1]["from_staff"]
    assert seen_by_client[-2]["author"] == "Camilo Soporte" and not seen_by_client[-2]["from_staff"]

    # The client reply went to the assignee; the public answer to the client side; the note nowhere.
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "agente@demo.test", "cliente@demo.test", "soporte@losandes.test"]


def test_client_reply_rules(demo_app):
    ticket = ticket_of(demo_app, "cliente@demo.test", Ticket.status == "closed")
    client = Api(demo_app, "cliente@demo.test", "cliente")
    before = count(demo_app, TicketMessage)
    for payload, field in (({"message": "x", "internal": True}, "internal"),
                           ({"message": "x", "status": "closed"}, "status"),
                           ({"message": "  "}, "message"), ({}, "message")):
        response = client.post(f"/api/v1/tickets/{ticket.id}/reply", json=payload)
        assert response.status_code == 422 and list(response.get_json()["message"]) == [field]
    assert count(demo_app, TicketMessage) == before
    # A reply on a closed ticket lands and reopens it; sent twice with one key, it lands once.
    for _ in range(2):
        response = client.post(f"/api/v1/tickets/{ticket.id}/reply",
                               json={"message": "Volvió a pasar.", "submission_key": "r1"})
        assert response.status_code in (200, 201) and response.get_json()["status"] == "customer_reply"
    assert count(demo_app, TicketMessage, TicketMessage.body == "Volvió a pasar.") == 1


# --- services, domains, departments --------------------------------------------------------------------------


def test_services_and_domains_are_the_clients_own(demo_app, other_client):
    with demo_app.app_context():
        db.session.add(Service(client_id=other_client["client_id"], name="Servicio ajeno"))
        db.session.add(Domain(client_id=other_client["client_id"], name="ajeno.test"))
        db.session.commit()
        own_client = db.session.scalar(select(Contact.client_id).where(Contact.email == "cliente@demo.test"))
        own_services = set(db.session.scalars(select(Service.id).where(Service.client_id == own_client)))
        own_domains = set(db.session.scalars(select(Domain.id).where(Domain.client_id == own_client)))
        foreign_service = db.session.scalar(select(Service.id).where(Service.name == "Servicio ajeno"))
    api = Api(demo_app, "cliente@demo.test", "cliente")
    services = api.get("/api/v1/services/").get_json()
    assert services["count"] == 4 and set(services["ids"]) == own_services
    assert {"name", "status", "amount", "currency", "next_due_date"} <= set(services["result"][0])
    domains = api.get("/api/v1/domains/").get_json()
    assert domains["count"] == 3 and set(domains["ids"]) == own_domains
    assert api.get(f"/api/v1/services/{foreign_service}").status_code == 404
    theirs = other_client["api"].get("/api/v1/services/").get_json()
    assert theirs["count"] == 1 and theirs["result"][0]["name"] == "Servicio ajeno"


def test_a_contact_without_the_scope_gets_403(demo_app, make_user):
    # soporte@ has the services scope, not the domains one.
    soporte = Api(demo_app, "soporte@losandes.test", "soporte")
    assert soporte.get("/api/v1/services/").status_code == 200
    assert soporte.get("/api/v1/domains/").status_code == 403
    with demo_app.app_context():
        client_id = db.session.scalar(select(Contact.client_id).where(Contact.email == "cliente@demo.test"))
        service_id = db.session.scalar(select(Service.id).where(Service.client_id == client_id))
    make_user("tickets@losandes.test", "tickets-pass", client=client_id, owner=False, scopes="tickets")
    narrow = Api(demo_app, "tickets@losandes.test", "tickets-pass")
    assert narrow.get("/api/v1/services/").status_code == 403
    assert narrow.get(f"/api/v1/services/{service_id}").status_code == 403
    assert narrow.get("/api/v1/tickets/").get_json()["count"] == 63


def test_departments_lists_the_active_ones(demo_app):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    data = api.get("/api/v1/departments/").get_json()
    assert data["count"] == 5
    assert [r["slug"] for r in data["result"]] == ["arrendasoft", "moodle", "web", "sima", "custom"]
    with demo_app.app_context():
        db.session.scalar(select(Department).where(Department.slug == "sima")).active = False
        db.session.commit()
    data = api.get("/api/v1/departments/").get_json()
    assert data["count"] == 4 and "sima" not in [r["slug"] for r in data["result"]]
    assert api.post("/api/v1/tickets/", json={"department": "sima", "subject": "s", "message": "m"}) \
        .status_code == 422


def test_clients_cannot_change_or_delete_tickets_and_services(demo_app):
    api = Api(demo_app, "cliente@demo.test", "cliente")
    ticket = ticket_of(demo_app, "cliente@demo.test")
    with demo_app.app_context():
        service = db.session.scalar(select(Service).order_by(Service.id))
        service_id, service_name = service.id, service.name
    # These APIs register no write routes beyond opening and answering tickets: 405.
    assert api.put(f"/api/v1/tickets/{ticket.id}", json={"subject": "cambiado"}).status_code == 405
    assert api.delete(f"/api/v1/tickets/{ticket.id}").status_code == 405
    assert api.put(f"/api/v1/services/{service_id}", json={"name": "gratis"}).status_code == 405
    assert api.delete(f"/api/v1/services/{service_id}").status_code == 405
    assert api.post("/api/v1/services/", json={"name": "nuevo"}).status_code == 405
    assert api.post("/api/v1/departments/", json={"slug": "x"}).status_code == 405
    with demo_app.app_context():
        assert db.session.get(Ticket, ticket.id).subject == ticket.subject
        assert db.session.get(Service, service_id).name == service_name
    assert count(demo_app, Service) == 4 and count(demo_app, Department) == 5


def test_info_does_not_list_other_accounts_rows(demo_app, other_client):
    api = other_client["api"]
    info = api.get("/api/v1/tickets/_info").get_json()
    # What POST takes, and no related rows (clients, users, messages) of anyone.
    assert [c["name"] for c in info["add_columns"]] == [
        "department", "subject", "message", "priority", "service_id", "submission_key"]
    assert info["edit_columns"] == []
    assert "Inmobiliaria Los Andes" not in str(info) and "Project-Id-Version" not in str(info)
    for resource in ("services", "domains", "departments"):
        info = api.get(f"/api/v1/{resource}/_info").get_json()
        assert (info["add_columns"], info["edit_columns"]) == ([], []), resource


def test_openapi_spec_is_served_to_admins(demo_app):
    admin = Api(demo_app, "admin@demo.test", "admin")
    response = admin.get("/api/v1/_openapi")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    for path in ("/api/v1/tickets/", "/api/v1/tickets/{pk}", "/api/v1/tickets/{pk}/reply",
                 "/api/v1/tickets/{pk}/messages", "/api/v1/departments/", "/api/v1/services/",
                 "/api/v1/domains/"):
        assert path in paths, path
    assert "post" in paths["/api/v1/tickets/"]
    assert demo_app.test_client().get("/api/v1/_openapi").status_code == 401




def test_the_api_log_in_is_rate_limited_like_the_forms(portal_app_factory):
    app = portal_app_factory(AUTH_RATE_LIMIT="3 per minute")
    http = app.test_client()
    codes = [http.post("/api/v1/security/login", json={"username": "nobody@test.test", "password": "x",
                                                       "provider": "db"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_the_openapi_spec_lists_only_the_operations_that_exist(portal_app, make_user):
    make_user("spec-admin@test.test", "admin-pass", role="Admin")
    http = portal_app.test_client()
    token = http.post("/api/v1/security/login", json={"username": "spec-admin@test.test", "password": "admin-pass",
                                                      "provider": "db"}).get_json()["access_token"]
    spec = http.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    operations = {(path.removeprefix("/api/v1"), method) for path, item in spec["paths"].items() for method in item
                  if path.startswith(("/api/v1/tickets", "/api/v1/services", "/api/v1/domains", "/api/v1/departments"))}
    assert {method for path, method in operations if path.startswith(("/services", "/domains", "/departments"))} \
        == {"get"}
    assert ("/tickets/", "post") in operations and ("/tickets/{pk}/reply", "post") in operations
    assert not any(method in ("put", "delete") for _, method in operations)
