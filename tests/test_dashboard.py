"""The client area's home ("Área del Cliente"): company block, tiles, recent tickets, active
services, the user menu, the company update with its history, and who sees what."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlalchemy import func, select

from plugins.testing import login

DEMO_OWNER = ("cliente@demo.test", "cliente")
DEMO_COMPANY = "Inmobiliaria Los Andes S.A.S."


# --- helpers ---------------------------------------------------------------------------------

def signed_in(app, email, password, language="en"):
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    if language:
        assert client.get(f"/language/{language}").status_code == 302
    return client


def tiles(html: str) -> dict:
    return {name: int(n) for name, n in re.findall(r'id="tile-(\w+)"><span class="count">(\d+)</span>', html)}


def section(html: str, heading: str) -> str:
    """The panel whose heading is ``heading``, up to the next panel."""
    start = html.index(f"<strong>{heading}</strong>")
    end = html.find('class="panel ', start)
    return html[start:end if end != -1 else len(html)]


def demo_client_id(app) -> int:
    from models import db
    from models.accounts import Client

    with app.app_context():
        return db.session.scalar(select(Client.id).where(Client.company_name == DEMO_COMPANY))


def scalar(app, query):
    from models import db

    with app.app_context():
        return db.session.scalar(query)


def company_form(app, client_id, **changes) -> dict:
    """What a browser posts from the company page: every field, as shown, with changes."""
    from models import db
    from models.accounts import EDITABLE_CLIENT_FIELDS, Client

    with app.app_context():
        company = db.session.get(Client, client_id)
        data = {field: getattr(company, field) for field in EDITABLE_CLIENT_FIELDS}
    data.update(changes)
    return data


def add_ticket(app, client_id, number, subject, status="open", updated_at=None):
    from models import db
    from models.support import Department, Ticket

    with app.app_context():
        department_id = db.session.scalar(select(Department.id).order_by(Department.id).limit(1))
        db.session.add(Ticket(number=number, client_id=client_id, department_id=department_id, name="X",
                              email="x@example.com", subject=subject, status=status,
                              updated_at=updated_at or dt.datetime(2024, 1, 1, 12, 0)))
        db.session.commit()


# --- the demo client's dashboard -----------------------------------------------------------

def test_company_block_shows_the_legal_representative_and_update_button(demo_app):
    page = signed_in(demo_app, *DEMO_OWNER).get("/clientarea/").get_data(as_text=True)

    company = page[page.index('id="company"'):page.index('id="contacts"')]
    for text in (DEMO_COMPANY, "900123456-7", "Calle 10 # 43-12, Medellín", "Legal representative",
                 "María Fernanda Restrepo", "43123456", "mfrestrepo@losandes.test", "+57 300 555 0199"):
        assert text in company, text
    assert '<a class="btn btn-default btn-sm" href="/clientarea/company/" id="update-company">Update</a>' in company
    assert "Client area" in page  # breadcrumb


def test_tiles_count_services_domains_open_tickets_and_unpaid_invoices(demo_app):
    from models.billing import Invoice
    from models.catalog import Domain, Service
    from models.support import Ticket

    client_id = demo_client_id(demo_app)

    def n(model, *where):
        return scalar(demo_app, select(func.count()).select_from(model).where(model.client_id == client_id, *where))

    expected = {
        "services": n(Service),
        "domains": n(Domain),
        "tickets": n(Ticket, Ticket.status.not_in(("resolved", "closed"))),
        "invoices": n(Invoice, Invoice.status == "unpaid"),
    }
    # The demo is rich enough for the filters to matter.
    assert expected["services"] > n(Service, Service.status == "active")
    assert 0 < expected["tickets"] < n(Ticket) == 63
    assert 0 < expected["invoices"] < n(Invoice)
    assert expected == {"services": 4, "domains": 3, "tickets": expected["tickets"], "invoices": 2}

    page = signed_in(demo_app, *DEMO_OWNER).get("/clientarea/").get_data(as_text=True)

    assert tiles(page) == expected
    assert 'href="/clientarea/services/' in page and 'href="/clientarea/domains/' in page
    assert 'href="/support/tickets/" id="tile-tickets"' in page
    assert 'href="/clientarea/invoices/' in page
    assert '<a class="btn btn-primary" href="/support/open/" id="open-ticket">' in page


def test_recent_tickets_and_active_services(demo_app):
    from models.catalog import Service
    from models.support import Ticket

    client_id = demo_client_id(demo_app)
    from models import db

    with demo_app.app_context():
        recent = [(t.number, t.subject) for t in db.session.scalars(
            select(Ticket).where(Ticket.client_id == client_id)
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(5))]
        active = sorted(s.name for s in db.session.scalars(
            select(Service).where(Service.client_id == client_id, Service.status == "active")))
        inactive = [s.name for s in db.session.scalars(
            select(Service).where(Service.client_id == client_id, Service.status != "active"))]
    assert len(recent) == 5 and inactive == ["SIMA Clínica"]

    page = signed_in(demo_app, *DEMO_OWNER).get("/clientarea/").get_data(as_text=True)

    panel = section(page, "Recent tickets")
    shown = re.findall(r'href="/support/tickets/(\d{6})">#(\d{6}) ([^<]*)</a>', panel)
    assert [(a, s.strip()) for a, b, s in shown if a == b] == recent
    services = section(page, "Active services")
    assert re.findall(r"<tr><td>([^<]+)</td>", services) == active
    assert "SIMA Clínica" not in services


def test_recent_ticket_times_are_in_the_users_time_zone(demo_app):
    from models import db
    from models.accounts import UserPreference
    from models.support import Ticket

    client_id = demo_client_id(demo_app)
    with demo_app.app_context():
        newest = db.session.scalars(select(Ticket).where(Ticket.client_id == client_id)
                                    .order_by(Ticket.updated_at.desc(), Ticket.id.desc())).first()
        updated, user_id = newest.updated_at, demo_app.appbuilder.sm.find_user(email=DEMO_OWNER[0]).id

    def shown(tz):
        local = updated.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(tz))
        return format_datetime(local, "dd/MM/yyyy (HH:mm)", locale="es")

    page = signed_in(demo_app, *DEMO_OWNER, language=None).get("/clientarea/").get_data(as_text=True)
    assert shown("America/Bogota") in page
    with demo_app.app_context():
        db.session.get(UserPreference, user_id).timezone = "Asia/Tokyo"
        db.session.commit()
    page = signed_in(demo_app, *DEMO_OWNER, language=None).get("/clientarea/").get_data(as_text=True)
    assert shown("Asia/Tokyo") in page
    assert shown("Asia/Tokyo") != shown("America/Bogota")


def test_user_menu_has_profile_password_contacts_and_log_out(demo_app):
    page = signed_in(demo_app, *DEMO_OWNER).get("/clientarea/").get_data(as_text=True)

    menu = page[page.index('id="user-menu"'):]
    menu = menu[:menu.index("</ul>")]
    assert "María Fernanda Restrepo" in menu
    links = re.findall(r'<a href="([^"]+)"[^>]*><i class="fa fa-fw [\w-]+"></i> ([^<]+)</a>', menu)
    assert links == [("/account/profile/", "Your profile"), ("/account/password/", "Change password"),
                     ("/clientarea/contacts/", "Contacts"), ("/logout/", "Log out")]
    contacts = section(page, "Contacts")
    for name in ("María Fernanda Restrepo", "Jorge Contador", "Camilo Soporte"):
        assert name in contacts


def test_each_page_of_the_user_menu_answers(demo_app):
    client = signed_in(demo_app, *DEMO_OWNER)
    for path in ("/account/profile/", "/account/password/", "/clientarea/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/logout/").status_code == 302
    assert client.get("/clientarea/").status_code == 302


def test_a_contact_sees_only_the_tiles_of_its_scopes(demo_app, make_user):
    client_id = demo_client_id(demo_app)
    make_user("tickets-only@losandes.com", "secret-pass", client=client_id, scopes="tickets", owner=False,
              first_name="Tina", last_name="Tickets")

    contact = signed_in(demo_app, "tickets-only@losandes.com", "secret-pass")
    page = contact.get("/clientarea/").get_data(as_text=True)

    owner_tiles = tiles(signed_in(demo_app, *DEMO_OWNER).get("/clientarea/").get_data(as_text=True))
    assert tiles(page) == {"tickets": owner_tiles["tickets"]}
    assert "Recent tickets" in page and 'id="open-ticket"' in page
    assert "Active services" not in page
    assert 'id="update-company"' not in page
    assert 'id="contacts"' not in page
    assert DEMO_COMPANY in page  # it still knows whose account it acts for
    response = contact.get("/clientarea/company/")
    assert response.status_code == 403
    assert contact.post("/clientarea/company/", data=company_form(
        demo_app, client_id, company_name="Hijacked")).status_code == 403
    from models.accounts import Client

    assert scalar(demo_app, select(Client.company_name).where(Client.id == client_id)) == DEMO_COMPANY


def test_demo_support_contact_sees_tickets_and_services_only(demo_app):
    page = signed_in(demo_app, "soporte@losandes.test", "soporte").get("/clientarea/").get_data(as_text=True)
    assert set(tiles(page)) == {"services", "tickets"}
    assert "Active services" in page and "Recent tickets" in page


# --- company update ----------------------------------------------------------------------------

def test_company_update_records_who_when_old_and_new(demo_app):
    from models import db
    from models.accounts import Client, ClientChange

    client_id = demo_client_id(demo_app)
    owner_id = scalar(demo_app, select(demo_app.appbuilder.sm.user_model.id).where(
        demo_app.appbuilder.sm.user_model.email == DEMO_OWNER[0]))
    browser = signed_in(demo_app, *DEMO_OWNER)
    form = browser.get("/clientarea/company/").get_data(as_text=True)
    assert 'value="María Fernanda Restrepo"' in form and "No changes yet." in form
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)

    response = browser.post("/clientarea/company/", data=company_form(
        demo_app, client_id, legal_rep_name="Juan Pablo Ospina", legal_rep_phone=" +57 301 555 0000 ",
        city="Medellín"))

    assert response.status_code == 302
    assert response.headers["Location"] == "/clientarea/"
    with demo_app.app_context():
        company = db.session.get(Client, client_id)
        assert (company.legal_rep_name, company.legal_rep_phone, company.city) == (
            "Juan Pablo Ospina", "+57 301 555 0000", "Medellín")
        changes = db.session.scalars(select(ClientChange).where(ClientChange.client_id == client_id)
                                     .order_by(ClientChange.field)).all()
        assert [(c.field, c.old_value, c.new_value, c.user_id) for c in changes] == [
            ("legal_rep_name", "María Fernanda Restrepo", "Juan Pablo Ospina", owner_id),
            ("legal_rep_phone", "+57 300 555 0199", "+57 301 555 0000", owner_id),
        ]
        after = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=1)
        assert all(before <= c.changed_at <= after for c in changes)

    home = browser.get("/clientarea/").get_data(as_text=True)
    assert "Company data saved." in home
    assert "Juan Pablo Ospina" in home

    history = browser.get("/clientarea/company/").get_data(as_text=True)
    history = history[history.index("History of changes"):]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>\s*<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
                      history)
    assert sorted((who.split(), field, old, new) for _when, who, field, old, new in rows) == [
        (["María", "Fernanda", "Restrepo"], "Legal representative", "María Fernanda Restrepo", "Juan Pablo Ospina"),
        (["María", "Fernanda", "Restrepo"], "Legal representative's phone", "+57 300 555 0199",
         "+57 301 555 0000"),
    ]
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \(\d{1,2}:\d\d [AP]M\)", when) for when, *_ in rows)

    # Saving again without changes records nothing more.
    browser.post("/clientarea/company/", data=company_form(demo_app, client_id))
    assert scalar(demo_app, select(func.count(ClientChange.id)).where(ClientChange.client_id == client_id)) == 2
    assert "Nothing changed." in browser.get("/clientarea/").get_data(as_text=True)


@pytest.mark.parametrize("changes, message", [
    ({"email": "not-an-email"}, "Write a valid e-mail address."),
    ({"legal_rep_email": "maría@", "legal_rep_name": "Otra Persona"}, "Write a valid e-mail address."),
    ({"company_name": "   "}, "This field is required."),
    ({"country": "Colombia"}, "Write the country's two-letter code (CO, US, ES ...)."),
    ({"country": "1<"}, "Write the country's two-letter code (CO, US, ES ...)."),
])
def test_invalid_company_data_is_refused_and_nothing_saved(demo_app, changes, message):
    from models import db
    from models.accounts import Client, ClientChange

    client_id = demo_client_id(demo_app)
    browser = signed_in(demo_app, *DEMO_OWNER)

    response = browser.post("/clientarea/company/", data=company_form(demo_app, client_id, **changes))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with demo_app.app_context():
        company = db.session.get(Client, client_id)
        assert (company.company_name, company.email, company.legal_rep_name, company.legal_rep_email,
                company.country) == (DEMO_COMPANY, "contabilidad@losandes.test", "María Fernanda Restrepo",
                                     "mfrestrepo@losandes.test", "CO")
        assert db.session.scalar(select(func.count(ClientChange.id))) == 0


def test_demo_company_can_be_saved_as_it_is(demo_app):
    """The demo's own addresses (under the reserved .test domain) must not block the form."""
    browser = signed_in(demo_app, *DEMO_OWNER)
    response = browser.post("/clientarea/company/", data=company_form(demo_app, demo_client_id(demo_app)))
    assert response.status_code == 302


# --- who sees what ---------------------------------------------------------------------------

def test_another_accounts_data_never_appears(demo_app, make_user):
    from models import db
    from models.catalog import Domain, Service

    other_user, other_client = make_user("owner@otra-empresa.com", "secret-pass", first_name="Olga",
                                         last_name="Otra")
    with demo_app.app_context():
        db.session.add(Service(client_id=other_client, name="Servicio Secreto XYZ", status="active"))
        db.session.add(Domain(client_id=other_client, name="secreto-xyz.com"))
        db.session.commit()
    add_ticket(demo_app, other_client, "424242", "Ticket secreto XYZ")
    demo_id = demo_client_id(demo_app)

    demo_page = signed_in(demo_app, *DEMO_OWNER).get("/clientarea/").get_data(as_text=True)
    assert "XYZ" not in demo_page and "Olga Otra" not in demo_page and "424242" not in demo_page

    other = signed_in(demo_app, "owner@otra-empresa.com", "secret-pass")
    page = other.get("/clientarea/").get_data(as_text=True)
    assert tiles(page) == {"services": 1, "domains": 1, "tickets": 1, "invoices": 0}
    assert "Olga Otra S.A.S." in page and "Servicio Secreto XYZ" in page and "#424242 Ticket secreto XYZ" in page
    assert DEMO_COMPANY not in page and "María Fernanda Restrepo" not in page
    assert "Arrendasoft Pro" not in page

    # Choosing the demo account in the session does not make it this user's account.
    with other.session_transaction() as sess:
        sess["client_id"] = demo_id
    page = other.get("/clientarea/").get_data(as_text=True)
    assert DEMO_COMPANY not in page and "Olga Otra S.A.S." in page
    company = other.get("/clientarea/company/").get_data(as_text=True)
    assert DEMO_COMPANY not in company and 'value="Olga Otra S.A.S."' in company


def test_a_user_without_an_account_sees_the_no_account_page(portal_app, make_user):
    from models import db
    from models.accounts import Contact

    user_id, _ = make_user("lonely@example.com", "secret-pass")
    with portal_app.app_context():
        db.session.scalars(select(Contact).where(Contact.user_id == user_id)).one().active = False
        db.session.commit()
    browser = signed_in(portal_app, "lonely@example.com", "secret-pass")

    page = browser.get("/clientarea/")
    assert page.status_code == 200
    assert "No client account" in page.get_data(as_text=True)
    assert browser.get("/clientarea/company/").status_code == 403


def test_index_sends_each_person_home(demo_app):
    anonymous = demo_app.test_client()
    assert anonymous.get("/").headers["Location"] == "/login/"
    assert anonymous.get("/clientarea/").status_code == 302
    assert signed_in(demo_app, *DEMO_OWNER).get("/").headers["Location"] == "/clientarea/"
    assert signed_in(demo_app, "agente@demo.test", "agente").get("/").headers["Location"] == "/staff/tickets/list/"
    assert signed_in(demo_app, "admin@demo.test", "admin").get("/").headers["Location"] == "/staff/tickets/list/"
