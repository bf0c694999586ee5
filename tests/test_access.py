"""Who reaches what, checked over every registered route (from the app's URL map, so a
new view is covered without anyone remembering to add it here)."""
from __future__ import annotations

import io

import pytest

from plugins.testing import login
from views.roles import CLIENT_VIEWS

# Routes anyone may open, and why.
PUBLIC = {
    "PortalIndexView.index": "redirects to the log-in page or the user's home",
    "PortalAuthView.login": "the log-in page",
    "PortalAuthView.logout": "logging out",
    "PortalAuthView.signup": "sign-up",
    "PortalAuthView.confirm": "the e-mailed sign-up confirmation link (signed token)",
    "PortalAuthView.forgot": "forgotten password",
    "PortalAuthView.reset": "the e-mailed password reset link (signed token)",
    "LanguageView.switch": "language switch",
    "LocaleView.index": "Flask-AppBuilder's language switch",
    "UtilView.back": "Flask-AppBuilder's history back link",
    "SecurityApi.login": "REST API log-in (JWT)",
    "SecurityApi.refresh": "REST API token refresh (needs a refresh token)",
    "static": "static files",
    "appbuilder.static": "Flask-AppBuilder's static files",
}
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def build_url(rule, values) -> str:
    arguments = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__
        arguments[name] = values.get(name, 1 if converter == "IntegerConverter" else "x")
    path = rule.rule
    for name, value in arguments.items():
        for pattern in (f"<int:{name}>", f"<string:{name}>", f"<{name}>", f"<path:{name}>"):
            path = path.replace(pattern, str(value))
    return path


def call(client, method, url, **kwargs):
    return client.open(url, method=method, **kwargs)


def test_anonymous_users_reach_only_the_public_routes(portal_app):
    client = portal_app.test_client()
    for rule, method in routes(portal_app):
        if rule.endpoint in PUBLIC:
            continue
        response = call(client, method, build_url(rule, {}))
        where = f"{method} {rule.rule} ({rule.endpoint})"
        if rule.rule.startswith("/api/"):
            assert response.status_code in (401, 403, 404, 405), where
        else:
            assert response.status_code in (302, 400, 404, 405), where
            if response.status_code == 302:  # to log in, or to "/", which sends anonymous users there
                location = response.headers["Location"]
                assert "/login/" in location or location in ("/", "http://portal.test/"), where


@pytest.fixture
def two_accounts(demo_app, make_user):
    """Client A is the demo client; client B has a ticket with an attachment, a service,
    a domain and an invoice."""
    import datetime as dt
    from decimal import Decimal

    from models import db
    from models.billing import Invoice
    from models.catalog import Domain, Service
    from models.support import Attachment, Department, NewTicket, open_ticket

    _, client_b = make_user("b-owner@b.test", "b-password", first_name="Bea", last_name="Bravo")
    with demo_app.app_context():
        service = Service(client_id=client_b, name="B service", amount=Decimal("10"))
        domain = Domain(client_id=client_b, name="b-company.test")
        invoice = Invoice(client_id=client_b, number="B-0001", issued_on=dt.date.today(), due_on=dt.date.today())
        invoice.add_line("B line", Decimal("1"), Decimal("99"))
        db.session.add_all([service, domain, invoice])
        db.session.commit()

        class Upload:
            filename = "b-secret.pdf"
            stream = io.BytesIO(PDF)

        department = db.session.query(Department).filter_by(slug="web").one()
        ticket = open_ticket(db.session, NewTicket(client_id=client_b, department_id=department.id, name="Bea",
                                                   email="b-owner@b.test", subject="B secret subject", body="B body",
                                                   files=[Upload()]), demo_app.extensions["portal"].attachments)
        attachment = db.session.query(Attachment).filter_by(ticket_id=ticket.id).one()
        return {
            "ticket_id": ticket.id, "number": ticket.number, "attachment_id": attachment.id,
            "service_id": service.id, "domain_id": domain.id, "invoice_id": invoice.id,
        }


# Which of client B's ids goes into a route's <pk>, by the view that serves it.
PK_OF_VIEW = {"MyServicesView": "service_id", "ServiceApi": "service_id", "MyDomainsView": "domain_id",
              "DomainApi": "domain_id", "MyInvoicesView": "invoice_id", "TicketApi": "ticket_id"}


def _permitted(app, endpoint) -> bool:
    """Whether the view lets anyone use this method at all (its base_permissions)."""
    view_name, method = endpoint.split(".")
    view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == view_name)
    permission = "can_" + (view.method_permission_name or {}).get(method, method)
    return not view.base_permissions or permission in view.base_permissions


def _ticket_snapshot(app, ticket_id):
    from models import db
    from models.support import Ticket, TicketMessage

    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        return (ticket.status, ticket.updated_at, ticket.subject,
                db.session.query(TicketMessage).filter_by(ticket_id=ticket_id).count())


def test_a_client_never_reaches_another_accounts_records(demo_app, two_accounts):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    token = client.post("/api/v1/security/login", json={"username": "cliente@demo.test", "password": "cliente",
                                                        "provider": "db"}).get_json()["access_token"]
    before = _ticket_snapshot(demo_app, two_accounts["ticket_id"])
    for rule, method in routes(demo_app):
        if rule.endpoint in PUBLIC or not rule.arguments:
            continue
        view = rule.endpoint.split(".")[0]
        values = dict(two_accounts)
        values["pk"] = two_accounts.get(PK_OF_VIEW.get(view, "ticket_id"))
        url = build_url(rule, values)
        headers = {"Authorization": f"Bearer {token}"} if rule.rule.startswith("/api/") else {}
        response = call(client, method, url, headers=headers, json={} if method in ("POST", "PUT") else None)
        where = f"{method} {url} ({rule.endpoint})"
        assert response.status_code != 500, where
        if view in CLIENT_VIEWS and _permitted(demo_app, rule.endpoint):
            # What clients may do: another account's record does not exist for them.
            assert response.status_code in (404, 405), f"{where}: {response.status_code}"
        else:
            # Not a client's view at all: refused, or sent to log in.
            assert response.status_code in (302, 403, 404, 405), f"{where}: {response.status_code}"
        assert b"B secret subject" not in response.data, where
    assert _ticket_snapshot(demo_app, two_accounts["ticket_id"]) == before


def test_a_generated_list_with_a_paging_parameter_that_is_not_a_number_is_not_an_error(demo_app):
    client = demo_app.test_client()
    login(client, "agente@demo.test", "agente")
    response = client.get("/staff/tickets/list/?page_StaffTicketsView=abc&psize_StaffTicketsView=x&_flt_0_subject=a")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/tickets/list/?_flt_0_subject=a"
    assert client.get(response.headers["Location"]).status_code == 200


def test_error_pages_are_in_the_portal_layout_and_the_users_language(demo_app):
    client = demo_app.test_client()
    login(client, "cliente@demo.test", "cliente")
    page = client.get("/support/tickets/000000")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "Página no encontrada" in html and 'id="user-menu"' in html
    client.get("/language/en")
    assert "Page not found" in client.get("/no/such/page").get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json


def test_menus_show_only_what_the_membership_may_open(demo_app):
    client = demo_app.test_client()
    login(client, "soporte@losandes.test", "soporte")  # scopes: tickets support_emails services
    html = client.get("/clientarea/").get_data(as_text=True)
    assert 'href="/support/tickets/"' in html and 'href="/clientarea/services/list/"' in html
    assert 'href="/clientarea/domains/list/"' not in html and 'href="/clientarea/invoices/list/"' not in html
    owner = demo_app.test_client()
    login(owner, "cliente@demo.test", "cliente")
    html = owner.get("/clientarea/").get_data(as_text=True)
    assert 'href="/clientarea/domains/list/"' in html and 'href="/clientarea/invoices/list/"' in html
