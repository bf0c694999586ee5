"""Contacts (issue 3): the owner's contacts page (create, edit, disable, enable, remove,
scopes), e-mailed invitations (new and existing users), the account switcher, and scopes
taking effect on the next request of a session already open."""
from __future__ import annotations

import re
import time

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from plugins.testing import login

LINK = re.compile(r"http://portal\.test/invitation/\S+")
WEEK = 7 * 24 * 3600


# --- helpers ---------------------------------------------------------------------------------

def signed_in(app, email, password):
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    assert client.get("/language/en").status_code == 302
    return client


def shift_signing_clock(monkeypatch, seconds):
    """Make itsdangerous believe ``seconds`` have passed since tokens were signed."""
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: int(time.time()) + seconds)


def contacts_of(app, client_id) -> list[tuple]:
    from models import db
    from models.accounts import Contact

    with app.app_context():
        rows = db.session.scalars(select(Contact).where(Contact.client_id == client_id).order_by(Contact.id))
        return [(c.name, c.email, c.phone, c.position, c.scopes, c.active, c.is_owner, c.user_id) for c in rows]


def contact_id(app, email, client_id=None) -> int:
    from models import db
    from models.accounts import Contact

    with app.app_context():
        query = select(Contact.id).where(Contact.email == email)
        if client_id is not None:
            query = query.where(Contact.client_id == client_id)
        return db.session.scalar(query)


def count(app, model) -> int:
    from models import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def user_row(app, email):

    with app.app_context():
        user = app.appbuilder.sm.find_user(email=email)
        return None if user is None else (user.id, user.active, sorted(r.name for r in user.roles))


def links_to(smtp_server, address) -> list[str]:
    return [url for m in smtp_server.sink.to(address) for url in LINK.findall(m.get_content())]


def flashes(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def portal_app(portal_app_factory):
    """English by default, so that e-mails to people without a log-in (their language is the
    portal's default) can be checked word for word."""
    return portal_app_factory(DEFAULT_LOCALE="en")


NEW = {"name": "Ana Pagos", "email": "Ana.Pagos@LosAndes.test", "phone": "+57 300 000 0001",
       "position": "Tesorera", "scopes": ["invoices", "pay"]}


@pytest.fixture
def owner_setup(portal_app, make_user):
    """An account owned by Olga, with the owner's logged-in test client."""
    user_id, client_id = make_user("olga@owner.test", "olga-pass-1", first_name="Olga", last_name="Owner")
    return signed_in(portal_app, "olga@owner.test", "olga-pass-1"), user_id, client_id


# --- the contacts page -----------------------------------------------------------------------

def test_owner_creates_edits_disables_enables_and_removes_a_contact(portal_app, owner_setup):
    owner, owner_id, client_id = owner_setup
    page = owner.get("/clientarea/contacts/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "olga@owner.test" in html and "All (account owner)" in html

    form = owner.get("/clientarea/contacts/new").get_data(as_text=True)
    for label in ("Company profile", "Contacts", "Services", "Domains", "Billing notices (view)",
                  "Pay billing notices", "Tickets", "Support e-mails", "Billing e-mails"):
        assert f"> {label}</label>" in form, label

    response = owner.post("/clientarea/contacts/new", data=NEW)
    assert response.status_code == 302 and response.headers["Location"] == "/clientarea/contacts/"
    assert "Contact Ana Pagos added." in flashes(owner.get("/clientarea/contacts/").get_data(as_text=True))
    assert contacts_of(portal_app, client_id)[1] == (
        "Ana Pagos", "ana.pagos@losandes.test", "+57 300 000 0001", "Tesorera", "invoices pay", True, False, None)
    pk = contact_id(portal_app, "ana.pagos@losandes.test")

    edit = owner.get(f"/clientarea/contacts/{pk}/edit").get_data(as_text=True)
    assert re.findall(r'<input checked[^>]*name="scopes"[^>]*value="(\w+)"', edit) == ["invoices", "pay"]
    response = owner.post(f"/clientarea/contacts/{pk}/edit", data={
        "name": "Ana  Pagos Ruiz", "email": "ana@losandes.test", "phone": "", "position": "Contadora",
        "scopes": ["tickets", "invoices"]})
    assert response.status_code == 302
    assert contacts_of(portal_app, client_id)[1] == (
        "Ana Pagos Ruiz", "ana@losandes.test", "", "Contadora", "invoices tickets", True, False, None)

    assert owner.post(f"/clientarea/contacts/{pk}/disable").status_code == 302
    assert contacts_of(portal_app, client_id)[1][5] is False
    assert owner.post(f"/clientarea/contacts/{pk}/enable").status_code == 302
    assert contacts_of(portal_app, client_id)[1][5] is True

    assert owner.post(f"/clientarea/contacts/{pk}/remove").status_code == 302
    assert "Contact Ana Pagos Ruiz removed." in flashes(owner.get("/clientarea/contacts/").get_data(as_text=True))
    assert [c[1] for c in contacts_of(portal_app, client_id)] == ["olga@owner.test"]


@pytest.mark.parametrize("field, value, message", [
    ("name", "  ", "This field is required."),
    ("email", "not-an-address", "Write a valid e-mail address."),
    ("email", "olga@owner.test", "This account already has a contact with the e-mail address olga@owner.test."),
    ("scopes", ["tickets", "root"], "Unknown scopes: root. Use: profile contacts services domains invoices pay "
                                    "tickets support_emails billing_emails."),
    ("phone", "9" * 41, "Field cannot be longer than 40 characters."),
])
def test_bad_input_gets_a_clear_error_and_writes_nothing(portal_app, owner_setup, smtp_server, field, value,
                                                         message):
    from models.outbox import OutboxMessage

    owner, _, client_id = owner_setup
    before = contacts_of(portal_app, client_id)
    response = owner.post("/clientarea/contacts/new", data={**NEW, field: value, "invite": "y"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in flashes(html)
    assert 'value="Tesorera"' in html  # the form keeps what was typed
    assert contacts_of(portal_app, client_id) == before
    assert count(portal_app, OutboxMessage) == 0 and smtp_server.messages == []


def test_the_owner_row_is_not_editable_from_the_page(portal_app, owner_setup):
    owner, _, client_id = owner_setup
    pk = contact_id(portal_app, "olga@owner.test")
    before = contacts_of(portal_app, client_id)
    response = owner.get(f"/clientarea/contacts/{pk}/edit")
    assert response.status_code == 302
    assert "The account owner cannot be changed from this page." in flashes(
        owner.get("/clientarea/contacts/").get_data(as_text=True))
    for action in ("edit", "disable", "remove", "invite"):
        owner.post(f"/clientarea/contacts/{pk}/{action}", data={"name": "X", "email": "x@x.test", "scopes": []})
    assert contacts_of(portal_app, client_id) == before
    assert f"/clientarea/contacts/{pk}/" not in owner.get("/clientarea/contacts/").get_data(as_text=True)


def test_a_contact_with_the_contacts_scope_manages_contacts_but_not_itself(portal_app, make_user):
    _, client_id = make_user("boss@acme.test", "boss-pass-1")
    make_user("hr@acme.test", "hr-pass-12", client=client_id, scopes="contacts", owner=False)
    hr = signed_in(portal_app, "hr@acme.test", "hr-pass-12")
    assert hr.get("/clientarea/contacts/").status_code == 200
    assert hr.post("/clientarea/contacts/new", data=NEW).status_code == 302
    me = contact_id(portal_app, "hr@acme.test")
    hr.post(f"/clientarea/contacts/{me}/disable")
    hr.post(f"/clientarea/contacts/{me}/remove")
    assert "You cannot remove yourself." in flashes(hr.get("/clientarea/contacts/").get_data(as_text=True))
    assert [(c[1], c[5]) for c in contacts_of(portal_app, client_id)] == [
        ("boss@acme.test", True), ("hr@acme.test", True), ("ana.pagos@losandes.test", True)]


def test_without_the_contacts_scope_every_contacts_route_answers_403(portal_app, make_user):
    _, client_id = make_user("boss@acme.test", "boss-pass-1")
    make_user("it@acme.test", "it-pass-123", client=client_id, scopes="tickets", owner=False)
    pk = contact_id(portal_app, "boss@acme.test")
    it = signed_in(portal_app, "it@acme.test", "it-pass-123")
    assert it.get("/clientarea/contacts/").status_code == 403
    assert it.get("/clientarea/contacts/new").status_code == 403
    assert it.post("/clientarea/contacts/new", data=NEW).status_code == 403
    assert it.get(f"/clientarea/contacts/{pk}/edit").status_code == 403
    for action in ("edit", "disable", "enable", "remove", "invite"):
        assert it.post(f"/clientarea/contacts/{pk}/{action}").status_code == 403, action
    assert len(contacts_of(portal_app, client_id)) == 2
    home = it.get("/clientarea/").get_data(as_text=True)
    assert 'id="contacts-link"' not in home and 'id="manage-contacts"' not in home


def test_another_accounts_contact_ids_answer_404_on_every_contacts_route(portal_app, make_user, owner_setup):
    owner, _, client_a = owner_setup
    _, client_b = make_user("bea@b.test", "bea-pass-12")
    owner.post("/clientarea/contacts/new", data=NEW)  # A has a contact besides the owner
    b_owner = contact_id(portal_app, "bea@b.test")
    b = signed_in(portal_app, "bea@b.test", "bea-pass-12")
    b.post("/clientarea/contacts/new", data={**NEW, "email": "b-contact@b.test"})
    b_contact = contact_id(portal_app, "b-contact@b.test")
    before = (contacts_of(portal_app, client_a), contacts_of(portal_app, client_b))

    rules = [r for r in portal_app.url_map.iter_rules() if r.endpoint.startswith("ClientContactsView.")
             and "pk" in r.arguments]
    assert sorted(r.endpoint for r in rules) == [
        "ClientContactsView.disable", "ClientContactsView.edit", "ClientContactsView.enable",
        "ClientContactsView.invite", "ClientContactsView.remove"]
    for pk in (b_owner, b_contact):
        for rule in rules:
            url = rule.rule.replace("<int:pk>", str(pk))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = owner.open(url, method=method, data={**NEW, "email": "x@a.test"})
                assert response.status_code == 404, f"{method} {url}"
                assert "b-contact@b.test" not in response.get_data(as_text=True)
    assert (contacts_of(portal_app, client_a), contacts_of(portal_app, client_b)) == before


def test_every_change_needs_the_csrf_token(portal_app_factory, make_user):
    app = portal_app_factory(WTF_CSRF_ENABLED=True)
    _, client_id = make_user("boss@acme.test", "boss-pass-1")
    make_user("x@acme.test", "x-pass-1234", client=client_id, scopes="", owner=False)
    pk = contact_id(app, "x@acme.test")
    client = app.test_client()
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/login/", data={"email": "boss@acme.test", "password": "boss-pass-1",
                                        "csrf_token": token}).status_code == 302
    before = contacts_of(app, client_id)
    assert client.post("/clientarea/contacts/new", data=NEW).status_code == 400
    for action in ("edit", "disable", "remove", "invite"):
        assert client.post(f"/clientarea/contacts/{pk}/{action}", data=NEW).status_code == 400, action
    assert client.post("/clientarea/account/switch/", data={"client_id": client_id}).status_code == 400
    assert contacts_of(app, client_id) == before
    # With the token from the page, it works.
    listing = client.get("/clientarea/contacts/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', listing).group(1)
    assert client.post(f"/clientarea/contacts/{pk}/disable", data={"csrf_token": token}).status_code == 302
    assert contacts_of(app, client_id)[1][5] is False


# --- invitations -----------------------------------------------------------------------------

def test_an_invited_contact_sets_a_password_once_and_gets_only_its_scopes(portal_app, owner_setup, smtp_server):
    owner, _, client_id = owner_setup
    response = owner.post("/clientarea/contacts/new", data={**NEW, "scopes": ["invoices"], "invite": "y"})
    assert response.status_code == 302
    assert "Ana Pagos was invited by e-mail." in flashes(owner.get("/clientarea/contacts/").get_data(as_text=True))
    (message,) = smtp_server.sink.to("ana.pagos@losandes.test")
    assert message["Subject"] == "You are invited to the client area of Olga Owner S.A.S."
    assert message.get_content().splitlines()[:3] == [
        "Hello Ana Pagos,", "", "Olga Owner (Olga Owner S.A.S.) invited you to the client area."]
    (link,) = links_to(smtp_server, "ana.pagos@losandes.test")
    assert link.startswith("http://portal.test/invitation/")
    assert user_row(portal_app, "ana.pagos@losandes.test") is None

    visitor = portal_app.test_client()
    visitor.get("/language/en")
    page = visitor.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Ana"' in html and 'value="Pagos"' in html  # names taken from the contact
    short = visitor.post(link, data={"first_name": "Ana", "last_name": "Pagos", "password": "short",
                                     "confirm": "short"})
    assert "The password must have at least 8 characters." in short.get_data(as_text=True)
    assert user_row(portal_app, "ana.pagos@losandes.test") is None

    response = visitor.post(link, data={"first_name": "Ana", "last_name": "Pagos", "password": "ana-pass-123",
                                        "confirm": "ana-pass-123"})
    assert response.status_code == 302 and response.headers["Location"] == "/clientarea/"
    user_id, active, roles = user_row(portal_app, "ana.pagos@losandes.test")
    assert (active, roles) == (True, ["Client"])
    assert contacts_of(portal_app, client_id)[1][-1] == user_id

    # Signed in, within the inviting account, with only the invoices scope.
    home = visitor.get("/clientarea/").get_data(as_text=True)
    assert "Welcome to the client area of Olga Owner S.A.S." in flashes(home)
    assert 'id="tile-invoices"' in home and 'id="tile-tickets"' not in home
    assert 'href="/support/tickets/"' not in home and 'href="/clientarea/invoices/list/"' in home
    assert visitor.get("/support/tickets/").status_code == 403
    assert visitor.get("/support/open/").status_code == 403
    assert visitor.get("/clientarea/contacts/").status_code == 403

    # The link works once.
    again = portal_app.test_client().post(link, data={"first_name": "X", "last_name": "Y",
                                                      "password": "other-pass-1", "confirm": "other-pass-1"})
    assert again.status_code == 404 and "This link does not work" in again.get_data(as_text=True)
    assert login(portal_app.test_client(), "ana.pagos@losandes.test", "other-pass-1").status_code == 200
    assert login(portal_app.test_client(), "ana.pagos@losandes.test", "ana-pass-123").status_code == 302


def test_the_invitation_expires_after_seven_days(portal_app, owner_setup, smtp_server, monkeypatch):
    owner, _, client_id = owner_setup
    owner.post("/clientarea/contacts/new", data={**NEW, "invite": "y"})
    (link,) = links_to(smtp_server, "ana.pagos@losandes.test")
    assert "Open this link to choose your password. It works once, for 7 days:" in \
        smtp_server.messages[0].get_content()
    shift_signing_clock(monkeypatch, WEEK - 60)
    assert portal_app.test_client().get(link).status_code == 200
    shift_signing_clock(monkeypatch, WEEK + 1)
    expired = portal_app.test_client().post(link, data={"first_name": "Ana", "last_name": "P",
                                                        "password": "ana-pass-123", "confirm": "ana-pass-123"})
    assert expired.status_code == 404
    assert user_row(portal_app, "ana.pagos@losandes.test") is None
    assert contacts_of(portal_app, client_id)[1][-1] is None


def test_a_tampered_link_or_a_removed_disabled_or_changed_contact_invalidates_it(portal_app, owner_setup,
                                                                                 smtp_server):
    owner, _, _ = owner_setup
    owner.post("/clientarea/contacts/new", data={**NEW, "invite": "y"})
    (link,) = links_to(smtp_server, "ana.pagos@losandes.test")
    pk = contact_id(portal_app, "ana.pagos@losandes.test")
    assert portal_app.test_client().get(link + "x").status_code == 404
    owner.post(f"/clientarea/contacts/{pk}/disable")
    assert portal_app.test_client().get(link).status_code == 404
    owner.post(f"/clientarea/contacts/{pk}/enable")
    assert portal_app.test_client().get(link).status_code == 200
    owner.post(f"/clientarea/contacts/{pk}/edit", data={**NEW, "email": "ana2@losandes.test"})
    assert portal_app.test_client().get(link).status_code == 404
    owner.post(f"/clientarea/contacts/{pk}/remove")
    assert portal_app.test_client().get(link).status_code == 404


def test_an_existing_user_is_linked_after_logging_in_as_that_user(portal_app, make_user, smtp_server):
    _, agency_account = make_user("agency@agency.test", "agency-pass", first_name="Agencia", last_name="Web")
    _, shop = make_user("shop@shop.test", "shop-pass-1", first_name="Tienda", last_name="Shop")
    make_user("mallory@evil.test", "mallory-pass")
    shop_owner = signed_in(portal_app, "shop@shop.test", "shop-pass-1")
    shop_owner.post("/clientarea/contacts/new", data={"name": "Agencia Web", "email": "Agency@Agency.test",
                                                       "scopes": ["tickets"], "invite": "y"})
    (message,) = smtp_server.sink.to("agency@agency.test")
    assert ("You already have a log-in with this e-mail address. Open this link and log in with your password "
            "to accept. It works once, for 7 days:") in message.get_content()
    (link,) = links_to(smtp_server, "agency@agency.test")
    agency_id = user_row(portal_app, "agency@agency.test")[0]

    # Anonymous: asked to log in as that user; nothing is linked.
    anonymous = portal_app.test_client()
    anonymous.get("/language/en")
    page = anonymous.get(link).get_data(as_text=True)
    assert "agency@agency.test already has a log-in." in page
    assert anonymous.post(link).status_code == 200
    # Another user: refused.
    mallory = signed_in(portal_app, "mallory@evil.test", "mallory-pass")
    assert "This invitation is for agency@agency.test." in mallory.get(link).get_data(as_text=True)
    mallory.post(link)
    assert contacts_of(portal_app, shop)[1][-1] is None

    # The invited user, after logging in (the log-in page returns to the link).
    agency = portal_app.test_client()
    agency.get("/language/en")
    login_url = re.search(r'href="([^"]+)" id="invitation-login"', agency.get(link).get_data(as_text=True)).group(1)
    response = agency.post(login_url.replace("&amp;", "&"), data={"email": "agency@agency.test",
                                                                   "password": "agency-pass"})
    assert response.headers["Location"] == link.replace("http://portal.test", "")
    assert "Accept the invitation" in agency.get(link).get_data(as_text=True)
    assert agency.post(link).status_code == 302
    assert contacts_of(portal_app, shop)[1][-1] == agency_id
    assert user_row(portal_app, "agency@agency.test")[2] == ["Client"]
    # The password did not change, the user now acts in the shop's account, and the link is spent.
    home = agency.get("/clientarea/").get_data(as_text=True)
    assert "Tienda Shop S.A.S." in home and 'id="tile-tickets"' in home and 'id="tile-services"' not in home
    assert agency.get(link).status_code == 404
    assert login(portal_app.test_client(), "agency@agency.test", "agency-pass").status_code == 302
    assert len(contacts_of(portal_app, agency_account)) == 1


def test_invitations_are_written_to_the_outbox_in_the_same_transaction(portal_app, owner_setup):
    """Without SMTP the invitation waits in the outbox; a refused invitation writes no row."""
    from models.outbox import OutboxMessage

    owner, _, client_id = owner_setup
    owner.post("/clientarea/contacts/new", data=NEW)
    pk = contact_id(portal_app, "ana.pagos@losandes.test")
    assert count(portal_app, OutboxMessage) == 0
    assert owner.post(f"/clientarea/contacts/{pk}/invite").status_code == 302
    with portal_app.app_context():
        from models import db

        rows = db.session.scalars(select(OutboxMessage)).all()
        assert [(r.recipient, r.event) for r in rows] == [("ana.pagos@losandes.test", f"contact.invited:{pk}")]
    owner.post(f"/clientarea/contacts/{pk}/disable")
    owner.post(f"/clientarea/contacts/{pk}/invite")
    assert "Enable the contact before inviting them." in flashes(
        owner.get("/clientarea/contacts/").get_data(as_text=True))
    assert count(portal_app, OutboxMessage) == 1


# --- several accounts ------------------------------------------------------------------------

def test_switching_accounts_changes_what_is_shown(demo_app, make_user):
    from models import db
    from models.accounts import Client

    with demo_app.app_context():
        demo_id = db.session.scalar(select(Client.id).where(Client.company_name == "Inmobiliaria Los Andes S.A.S."))
    _, other = make_user("agency@agency.test", "agency-pass", first_name="Agencia", last_name="Web")
    make_user("solo@solo.test", "solo-pass-1")  # an account the agency does not belong to
    with demo_app.app_context():
        from models.accounts import Contact

        user_id = demo_app.appbuilder.sm.find_user(email="agency@agency.test").id
        db.session.add(Contact(client_id=demo_id, user_id=user_id, name="Agencia", email="agency@agency.test",
                               scopes="tickets services"))
        db.session.commit()
        solo = db.session.scalar(select(Client.id).where(Client.company_name == "Test User S.A.S."))

    agency = signed_in(demo_app, "agency@agency.test", "agency-pass")
    home = agency.get("/clientarea/").get_data(as_text=True)
    # The owner membership comes first; the switcher lists both accounts.
    assert home.count('class="account-switch"') == 2
    assert "Agencia Web S.A.S." in home[home.index('id="company"'):]

    response = agency.post("/clientarea/account/switch/", data={"client_id": demo_id})
    assert response.status_code == 302 and response.headers["Location"] == "/clientarea/"
    home = agency.get("/clientarea/").get_data(as_text=True)
    company = home[home.index('id="company"'):]
    assert "Inmobiliaria Los Andes S.A.S." in company[:300]
    assert "You are now working in Inmobiliaria Los Andes S.A.S." in flashes(home)
    assert 'id="tile-tickets"' in home and 'id="tile-domains"' not in home and 'id="contacts"' not in home
    assert agency.get("/clientarea/contacts/").status_code == 403
    assert agency.get("/clientarea/domains/list/").status_code == 403

    assert agency.post("/clientarea/account/switch/", data={"client_id": solo}).status_code == 404
    assert agency.post("/clientarea/account/switch/", data={"client_id": "abc"}).status_code == 404
    home = agency.get("/clientarea/").get_data(as_text=True)
    assert "Inmobiliaria Los Andes S.A.S." in home[home.index('id="company"'):][:300]
    assert agency.post("/clientarea/account/switch/", data={"client_id": other}).status_code == 302
    assert agency.get("/clientarea/contacts/").status_code == 200  # the agency owns its own account


def test_the_switcher_shows_only_with_more_than_one_active_membership(demo_app):
    owner = signed_in(demo_app, "cliente@demo.test", "cliente")
    html = owner.get("/clientarea/").get_data(as_text=True)
    assert 'class="account-switch"' not in html and "Switch account" not in html
    # A user can't switch to an account it's not an active member of.
    from models import db
    from models.accounts import Client

    with demo_app.app_context():
        other = Client(company_name="Ajena S.A.S.")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    assert owner.post("/clientarea/account/switch/", data={"client_id": other_id}).status_code == 404


# --- changes reach sessions already open -----------------------------------------------------

def test_removing_a_scope_disabling_or_removing_takes_effect_on_the_next_request(demo_app):
    owner = signed_in(demo_app, "cliente@demo.test", "cliente")
    support = signed_in(demo_app, "soporte@losandes.test", "soporte")  # tickets support_emails services
    pk = contact_id(demo_app, "soporte@losandes.test")
    assert support.get("/support/tickets/").status_code == 200
    assert support.get("/clientarea/services/list/").status_code == 200

    response = owner.post(f"/clientarea/contacts/{pk}/edit", data={
        "name": "Camilo Soporte", "email": "soporte@losandes.test", "phone": "", "position": "Sistemas",
        "scopes": ["services"]})
    assert response.status_code == 302
    assert support.get("/support/tickets/").status_code == 403
    assert 'href="/support/tickets/"' not in support.get("/clientarea/").get_data(as_text=True)
    assert support.get("/clientarea/services/list/").status_code == 200

    owner.post(f"/clientarea/contacts/{pk}/disable")
    assert support.get("/clientarea/services/list/").status_code == 403
    assert "Inmobiliaria Los Andes" not in support.get("/clientarea/").get_data(as_text=True)
    owner.post(f"/clientarea/contacts/{pk}/enable")
    assert support.get("/clientarea/services/list/").status_code == 200

    owner.post(f"/clientarea/contacts/{pk}/remove")
    assert support.get("/clientarea/services/list/").status_code == 403
    assert "Inmobiliaria Los Andes" not in support.get("/clientarea/").get_data(as_text=True)
    assert user_row(demo_app, "soporte@losandes.test")[1] is True  # the log-in itself remains
