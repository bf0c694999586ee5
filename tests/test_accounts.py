"""Accounts: log in and out, "remember me", sign-up with e-mail confirmation, forgotten and
changed passwords, the profile, rate limits on the public forms, CSRF, password hashing."""
import re
import socket
import time
import uuid

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from plugins.testing import create_user, login

WRONG_LOGIN = "Wrong e-mail address or password, or the account is not confirmed yet."
LINK_PROBLEM = "This link does not work"
LINK = re.compile(r"http://portal\.test/\S+")


# --- helpers ---------------------------------------------------------------------------------

def english(client):
    """Switch the client's session to English (the default locale is Spanish)."""
    assert client.get("/language/en").status_code == 302
    return client


def session_user(client):
    with client.session_transaction() as sess:
        return sess.get("_user_id")


def set_cookies(response) -> dict:
    """name -> the whole Set-Cookie header, for the cookies the response sets."""
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def links_to(smtp_server, address) -> list[str]:
    return [url for m in smtp_server.sink.to(address) for url in LINK.findall(m.get_content())]


def find_user(app, email):
    from models import db

    with app.app_context():
        user = app.appbuilder.sm.find_user(email=email)
        if user is not None:
            db.session.expunge(user)
        return user


def count(app, model, *where) -> int:
    from models import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def set_locale(app, user_id, locale):
    from models import db
    from models.accounts import UserPreference

    with app.app_context():
        db.session.get(UserPreference, user_id).locale = locale
        db.session.commit()


def shift_signing_clock(monkeypatch, seconds):
    """Make itsdangerous believe ``seconds`` have passed since tokens were signed."""
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: int(time.time()) + seconds)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


SIGNUP = {"company_name": "Ferretería El Tornillo S.A.S.", "first_name": "Lucía", "last_name": "Gómez",
          "email": "Lucia.Gomez@Tornillo.test", "password": "tornillo-2024", "confirm": "tornillo-2024"}


# --- log in, remember me, log out ----------------------------------------------------------

def test_login_with_email_in_any_case_starts_a_session(portal_app, make_user):
    user_id, _ = make_user("Ana.Perez@Example.test", "secret-pass")
    client = portal_app.test_client()

    response = login(client, "  ANA.PEREZ@example.TEST ", "secret-pass")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert session_user(client) == str(user_id)
    assert client.get("/").headers["Location"] == "/clientarea/"
    assert client.get("/clientarea/").status_code == 200


def test_login_page_in_english(portal_client):
    page = english(portal_client).get("/login/").get_data(as_text=True)
    assert "Sign in to your account to continue." in page
    assert 'placeholder="name@example.com"' in page
    assert 'href="/password/forgot/"' in page
    assert 'href="/signup/"' in page
    assert "Remember me" in page


@pytest.mark.parametrize("email, password", [
    ("ana@example.test", "wrong-pass"),          # wrong password
    ("nobody@example.test", "secret-pass"),      # unknown e-mail
    ("unconfirmed@example.test", "secret-pass"),  # signed up, never confirmed (inactive)
    ("ana@example.test", ""),                    # empty password
])
def test_failed_login_gives_one_message_and_no_session(portal_app, make_user, email, password):
    make_user("ana@example.test", "secret-pass")
    unconfirmed_id, _ = make_user("unconfirmed@example.test", "secret-pass")
    with portal_app.app_context():
        from models import db

        portal_app.appbuilder.sm.get_user_by_id(unconfirmed_id).active = False
        db.session.commit()
    client = english(portal_app.test_client())

    response = login(client, email, password)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if password:
        assert WRONG_LOGIN in page
    else:
        assert "This field is required." in page
    assert session_user(client) is None
    assert "remember_token" not in set_cookies(response)
    assert client.get("/clientarea/").status_code == 302


def test_remember_me_sets_the_remember_cookie_only_when_ticked(portal_app, make_user):
    make_user("ana@example.test", "secret-pass")

    plain = portal_app.test_client()
    response = login(plain, "ana@example.test", "secret-pass")
    assert response.status_code == 302
    assert "remember_token" not in set_cookies(response)

    remembered = portal_app.test_client()
    response = login(remembered, "ana@example.test", "secret-pass", remember=True)
    assert response.status_code == 302
    cookie = set_cookies(response)["remember_token"]
    assert "HttpOnly" in cookie
    assert "Expires=" in cookie
    token = cookie.split("=", 1)[1].split(";", 1)[0]

    # A browser that kept only the remember cookie (session cookie gone) is still signed in.
    fresh = portal_app.test_client()
    fresh.set_cookie("remember_token", token, domain="portal.test")
    assert fresh.get("/clientarea/").status_code == 200


def test_logout_ends_the_session_and_forgets_the_remember_cookie(portal_app, make_user):
    make_user("ana@example.test", "secret-pass")
    client = portal_app.test_client()
    login(client, "ana@example.test", "secret-pass", remember=True)
    assert client.get("/clientarea/").status_code == 200

    response = client.get("/logout/")

    assert response.status_code == 302
    assert session_user(client) is None
    cleared = set_cookies(response)["remember_token"]
    assert "remember_token=;" in cleared and "1970" in cleared
    response = client.get("/clientarea/")
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


@pytest.mark.parametrize("next_url, expected", [
    ("/support/tickets/", "/support/tickets/"),
    ("/clientarea/company/?x=1", "/clientarea/company/?x=1"),
    ("http://portal.test/support/tickets/", "http://portal.test/support/tickets/"),
    ("https://evil.test/steal", "/"),
    ("//evil.test/steal", "/"),
    ("///evil.test", "/"),
    (" //evil.test", "/"),
    ("\t//evil.test", "/"),
    ("https:evil.test", "/"),
    ("http:/\\evil.test", "/"),
    ("javascript:alert(1)", "/"),
    ("/\\evil.test", "/%5Cevil.test"),  # quoted by Werkzeug: a path on this site, not a host
])
def test_next_only_redirects_within_the_site(portal_app, make_user, next_url, expected):
    make_user("ana@example.test", "secret-pass")
    client = portal_app.test_client()

    response = client.post("/login/", query_string={"next": next_url},
                           data={"email": "ana@example.test", "password": "secret-pass"})

    assert response.status_code == 302
    assert response.headers["Location"] == expected
    # Already signed in: the login page sends on, with the same rule.
    again = client.get("/login/", query_string={"next": next_url})
    assert again.headers["Location"] == expected


def test_protected_page_sends_to_login_and_back(portal_app, make_user):
    make_user("ana@example.test", "secret-pass")
    client = portal_app.test_client()

    response = client.get("/clientarea/company/")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/login/?next=http://portal.test/clientarea/company/"

    response = client.post(location, data={"email": "ana@example.test", "password": "secret-pass"})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://portal.test/clientarea/company/"


# --- sign-up -----------------------------------------------------------------------------

def test_signup_creates_inactive_client_with_account_and_confirmation_link(portal_app, smtp_server):
    from models.accounts import Client, Contact, UserPreference

    client = english(portal_app.test_client())

    response = client.post("/signup/", data=SIGNUP)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "We sent a link to lucia.gomez@tornillo.test. Open it to activate your account." in page
    assert session_user(client) is None

    user = find_user(portal_app, "lucia.gomez@tornillo.test")
    assert user is not None
    assert (user.username, user.first_name, user.last_name, user.active) == (
        "lucia.gomez@tornillo.test", "Lucía", "Gómez", False)
    with portal_app.app_context():
        from models import db

        fresh = portal_app.appbuilder.sm.get_user_by_id(user.id)
        assert [r.name for r in fresh.roles] == ["Client"]
        assert SIGNUP["password"] not in fresh.password
        assert fresh.password.startswith(portal_app.config["FAB_PASSWORD_HASH_METHOD"].split(":")[0] + ":")
        account = db.session.scalar(select(Client).where(Client.email == "lucia.gomez@tornillo.test"))
        assert account.company_name == "Ferretería El Tornillo S.A.S."
        assert account.legal_rep_name == "Lucía Gómez"
        contacts = db.session.scalars(select(Contact).where(Contact.client_id == account.id)).all()
        assert [(c.user_id, c.is_owner, c.email) for c in contacts] == [
            (user.id, True, "lucia.gomez@tornillo.test")]
        pref = db.session.get(UserPreference, user.id)
        assert (pref.locale, pref.email_confirmed) == ("en", False)
        account_id = account.id

    # Not confirmed yet: logging in fails with the usual message.
    assert WRONG_LOGIN in login(client, SIGNUP["email"], SIGNUP["password"]).get_data(as_text=True)

    mails = smtp_server.sink.to("lucia.gomez@tornillo.test")
    assert [m["Subject"] for m in mails] == ["Confirm your e-mail address"]
    links = links_to(smtp_server, "lucia.gomez@tornillo.test")
    assert len(links) == 1 and links[0].startswith("http://portal.test/signup/confirm/")

    response = client.get(links[0])
    assert response.status_code == 302
    assert response.headers["Location"] == "/clientarea/"
    assert session_user(client) == str(user.id)
    assert find_user(portal_app, "lucia.gomez@tornillo.test").active is True
    home = client.get("/clientarea/").get_data(as_text=True)
    assert "Your e-mail address is confirmed. Welcome!" in home
    assert "Ferretería El Tornillo S.A.S." in home
    with portal_app.app_context():
        from models import db

        assert db.session.get(UserPreference, user.id).email_confirmed is True
        assert count(portal_app, Client) == 1 and account_id

    # The new password works on a fresh browser.
    other = portal_app.test_client()
    assert login(other, "lucia.gomez@tornillo.test", SIGNUP["password"]).status_code == 302


def test_confirmation_link_works_once_and_never_reactivates(portal_app, smtp_server):
    client = portal_app.test_client()
    client.post("/signup/", data=SIGNUP)
    link = links_to(smtp_server, "lucia.gomez@tornillo.test")[0]
    assert client.get(link).status_code == 302
    client.get("/logout/")

    # An administrator deactivates the account; the old link must not undo that nor sign in.
    user = find_user(portal_app, "lucia.gomez@tornillo.test")
    with portal_app.app_context():
        from models import db

        portal_app.appbuilder.sm.get_user_by_id(user.id).active = False
        db.session.commit()

    response = english(client).get(link)

    assert response.status_code == 400
    assert LINK_PROBLEM in response.get_data(as_text=True)
    assert session_user(client) is None
    assert find_user(portal_app, "lucia.gomez@tornillo.test").active is False


def test_signup_with_a_taken_email_creates_nothing(portal_app, make_user, smtp_server):
    from models.accounts import Client, Contact
    from models.outbox import OutboxMessage

    make_user("lucia.gomez@tornillo.test", "other-pass")
    before = (count(portal_app, Client), count(portal_app, Contact), count(portal_app, OutboxMessage))
    client = english(portal_app.test_client())

    response = client.post("/signup/", data=dict(SIGNUP, email="LUCIA.GOMEZ@tornillo.TEST"))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "An account with this e-mail address already exists." in page
    assert (count(portal_app, Client), count(portal_app, Contact), count(portal_app, OutboxMessage)) == before
    with portal_app.app_context():
        from models import db

        user_model = portal_app.appbuilder.sm.user_model
        assert db.session.scalar(select(func.count()).select_from(user_model)) == 1
    assert smtp_server.messages == []
    # The existing account keeps its password.
    assert login(portal_app.test_client(), "lucia.gomez@tornillo.test", "other-pass").status_code == 302


@pytest.mark.parametrize("changes, message", [
    ({"email": "not-an-email"}, "Write a valid e-mail address."),
    ({"password": "short", "confirm": "short"}, "The password must have at least 8 characters."),
    ({"confirm": "something-else"}, "The passwords do not match."),
    ({"company_name": ""}, "This field is required."),
])
def test_signup_validation_errors_are_shown_and_nothing_is_created(portal_app, smtp_server, changes, message):
    from models.accounts import Client

    client = english(portal_app.test_client())

    response = client.post("/signup/", data=dict(SIGNUP, **changes))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with portal_app.app_context():
        from models import db

        user_model = portal_app.appbuilder.sm.user_model
        assert db.session.scalar(select(func.count()).select_from(user_model)) == 0
    assert count(portal_app, Client) == 0
    assert smtp_server.messages == []


def test_tampered_or_expired_confirmation_link_gives_400(portal_app, smtp_server, monkeypatch):
    client = english(portal_app.test_client())
    client.post("/signup/", data=SIGNUP)
    link = links_to(smtp_server, "lucia.gomez@tornillo.test")[0]
    token = link.rsplit("/", 1)[1]

    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    forged = itsdangerous.URLSafeTimedSerializer("not-our-secret", salt="portal-confirm").dumps(
        {"u": find_user(portal_app, "lucia.gomez@tornillo.test").id})
    for bad in (tampered, forged, "nonsense"):
        response = client.get(f"/signup/confirm/{bad}")
        assert response.status_code == 400, bad
        assert LINK_PROBLEM in response.get_data(as_text=True)

    shift_signing_clock(monkeypatch, portal_app.config["EMAIL_CONFIRM_MAX_AGE"] + 1)
    response = client.get(link)
    assert response.status_code == 400
    assert LINK_PROBLEM in response.get_data(as_text=True)

    assert session_user(client) is None
    assert find_user(portal_app, "lucia.gomez@tornillo.test").active is False


def test_emailed_links_use_base_url_not_the_request_host(portal_app_factory, smtp_server):
    """A reset asked for through another Host header must not mail a link to that host."""
    app = portal_app_factory(SERVER_NAME=None)
    create_user(app, "ana@example.test", "secret-pass", first_name="Ana", last_name="Pérez")
    client = app.test_client()

    assert client.post("/password/forgot/", data={"email": "ana@example.test"},
                       base_url="http://evil.test").status_code == 200
    assert client.post("/signup/", data=SIGNUP, base_url="http://evil.test").status_code == 200

    reset = links_to(smtp_server, "ana@example.test")
    confirm = links_to(smtp_server, "lucia.gomez@tornillo.test")
    assert len(reset) == 1 and reset[0].startswith("http://portal.test/password/reset/")
    assert len(confirm) == 1 and confirm[0].startswith("http://portal.test/signup/confirm/")
    assert not any("evil.test" in m.get_content() for m in smtp_server.messages)


# --- forgotten password ---------------------------------------------------------------------

def _ask_reset(app, smtp_server, email="ana@example.test"):
    client = english(app.test_client())
    response = client.post("/password/forgot/", data={"email": email})
    assert response.status_code == 200
    links = links_to(smtp_server, email)
    return client, response, links


def test_forgotten_password_link_changes_the_password_once(portal_app, make_user, smtp_server):
    user_id, _ = make_user("ana@example.test", "old-password")
    set_locale(portal_app, user_id, "en")

    client, response, links = _ask_reset(portal_app, smtp_server, "Ana@Example.test")

    assert "If ana@example.test has an account, we sent it a link" in response.get_data(as_text=True)
    mails = smtp_server.sink.to("ana@example.test")
    assert [m["Subject"] for m in mails] == ["Reset your password"]
    assert "60 minutes" in mails[0].get_content()
    assert len(links) == 1 and links[0].startswith("http://portal.test/password/reset/")
    link = links[0]

    assert client.get(link).status_code == 200
    mismatch = client.post(link, data={"password": "new-password-1", "confirm": "new-password-2"})
    assert mismatch.status_code == 200
    assert "The passwords do not match." in mismatch.get_data(as_text=True)

    response = client.post(link, data={"password": "new-password-1", "confirm": "new-password-1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/"
    assert login(portal_app.test_client(), "ana@example.test", "old-password").status_code == 200
    assert login(portal_app.test_client(), "ana@example.test", "new-password-1").status_code == 302

    # Second use: refused, and the password stays the one chosen the first time.
    assert client.get(link).status_code == 400
    again = client.post(link, data={"password": "third-password", "confirm": "third-password"})
    assert again.status_code == 400
    assert LINK_PROBLEM in again.get_data(as_text=True)
    assert login(portal_app.test_client(), "ana@example.test", "new-password-1").status_code == 302
    assert login(portal_app.test_client(), "ana@example.test", "third-password").status_code == 200


def test_reset_link_expires_after_password_reset_max_age(portal_app, make_user, smtp_server, monkeypatch):
    make_user("ana@example.test", "old-password")
    client, _response, (link,) = _ask_reset(portal_app, smtp_server)
    assert portal_app.config["PASSWORD_RESET_MAX_AGE"] == 3600

    shift_signing_clock(monkeypatch, 3599)
    assert client.get(link).status_code == 200

    shift_signing_clock(monkeypatch, 3601)
    response = client.get(link)
    assert response.status_code == 400
    assert LINK_PROBLEM in response.get_data(as_text=True)
    response = client.post(link, data={"password": "new-password-1", "confirm": "new-password-1"})
    assert response.status_code == 400
    assert login(portal_app.test_client(), "ana@example.test", "old-password").status_code == 302


def test_reset_link_obeys_a_shorter_max_age_setting(portal_app_factory, smtp_server, monkeypatch):
    app = portal_app_factory(PASSWORD_RESET_MAX_AGE=0)
    create_user(app, "ana@example.test", "old-password", first_name="Ana", last_name="Pérez")
    client, _response, (link,) = _ask_reset(app, smtp_server)

    shift_signing_clock(monkeypatch, 1)
    assert client.get(link).status_code == 400


def test_reset_link_stops_working_once_the_password_is_changed_elsewhere(portal_app, make_user, smtp_server):
    make_user("ana@example.test", "old-password")
    reset_client, _response, (link,) = _ask_reset(portal_app, smtp_server)
    assert reset_client.get(link).status_code == 200

    signed_in = portal_app.test_client()
    login(signed_in, "ana@example.test", "old-password")
    changed = signed_in.post("/account/password/", data={
        "current": "old-password", "password": "changed-password", "confirm": "changed-password"})
    assert changed.status_code == 302

    assert reset_client.get(link).status_code == 400
    response = reset_client.post(link, data={"password": "attacker-pass", "confirm": "attacker-pass"})
    assert response.status_code == 400
    assert login(portal_app.test_client(), "ana@example.test", "changed-password").status_code == 302


def test_forgotten_password_for_unknown_or_unconfirmed_address_says_the_same_and_sends_nothing(
        portal_app, make_user, smtp_server):
    from models.outbox import OutboxMessage

    user_id, _ = make_user("sleepy@example.test", "secret-pass")
    with portal_app.app_context():
        from models import db

        portal_app.appbuilder.sm.get_user_by_id(user_id).active = False
        db.session.commit()
    make_user("ana@example.test", "secret-pass")

    answers = {}
    for email in ("nobody@example.test", "sleepy@example.test", "ana@example.test"):
        client = english(portal_app.test_client())
        response = client.post("/password/forgot/", data={"email": email})
        assert response.status_code == 200
        answers[email] = response.get_data(as_text=True).replace(email, "EMAIL")

    assert answers["nobody@example.test"] == answers["ana@example.test"]
    assert answers["sleepy@example.test"] == answers["ana@example.test"]
    assert smtp_server.sink.to("nobody@example.test") == []
    assert smtp_server.sink.to("sleepy@example.test") == []
    assert len(smtp_server.sink.to("ana@example.test")) == 1
    assert count(portal_app, OutboxMessage) == 1


# --- change password, profile ---------------------------------------------------------------

def test_change_password_checks_the_current_one(portal_app, make_user):
    user_id, _ = make_user("ana@example.test", "old-password")
    client = english(portal_app.test_client())
    login(client, "ana@example.test", "old-password")
    with portal_app.app_context():
        stored = portal_app.appbuilder.sm.get_user_by_id(user_id).password

    wrong = client.post("/account/password/", data={
        "current": "not-it", "password": "new-password-1", "confirm": "new-password-1"})
    assert wrong.status_code == 200
    assert "The current password is not right." in wrong.get_data(as_text=True)
    short = client.post("/account/password/", data={"current": "old-password", "password": "short",
                                                     "confirm": "short"})
    assert "The password must have at least 8 characters." in short.get_data(as_text=True)
    mismatch = client.post("/account/password/", data={
        "current": "old-password", "password": "new-password-1", "confirm": "new-password-2"})
    assert "The passwords do not match." in mismatch.get_data(as_text=True)
    with portal_app.app_context():
        assert portal_app.appbuilder.sm.get_user_by_id(user_id).password == stored

    response = client.post("/account/password/", data={
        "current": "old-password", "password": "new-password-1", "confirm": "new-password-1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile/"
    assert "Your password was changed." in client.get("/account/profile/").get_data(as_text=True)
    assert session_user(client) == str(user_id)  # still signed in
    assert login(portal_app.test_client(), "ana@example.test", "old-password").status_code == 200
    assert login(portal_app.test_client(), "ana@example.test", "new-password-1").status_code == 302


def test_account_pages_need_a_signed_in_user(portal_client):
    for path in ("/account/profile/", "/account/password/"):
        response = portal_client.get(path)
        assert response.status_code == 302
        assert "/login/" in response.headers["Location"]
    assert portal_client.post("/account/password/", data={
        "current": "x", "password": "new-password-1", "confirm": "new-password-1"}).status_code == 302


def test_profile_saves_names_language_and_time_zone_used_after_next_login(portal_app, make_user):
    from models.accounts import UserPreference

    user_id, _ = make_user("ana@example.test", "secret-pass", first_name="Ana", last_name="Pérez")
    client = portal_app.test_client()
    login(client, "ana@example.test", "secret-pass")
    page = client.get("/account/profile/").get_data(as_text=True)
    assert "ana@example.test" in page
    assert '<option selected value="es">' in page
    assert '<option selected value="America/Bogota">' in page

    bad = client.post("/account/profile/", data={"first_name": "Ana", "last_name": "Pérez", "locale": "xx",
                                                 "timezone": "Mars/Olympus"})
    assert bad.status_code == 200
    with portal_app.app_context():
        from models import db

        pref = db.session.get(UserPreference, user_id)
        assert (pref.locale, pref.timezone) == (None, None)

    response = client.post("/account/profile/", data={
        "first_name": " Ana María ", "last_name": "Pérez Gil", "locale": "en", "timezone": "Europe/Madrid"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile/"
    with portal_app.app_context():
        from models import db

        user = portal_app.appbuilder.sm.get_user_by_id(user_id)
        pref = db.session.get(UserPreference, user_id)
        assert (user.first_name, user.last_name, pref.locale, pref.timezone) == (
            "Ana María", "Pérez Gil", "en", "Europe/Madrid")
    client.get("/logout/")

    # A new browser, Spanish by default, turns English at log in.
    fresh = portal_app.test_client()
    with fresh.session_transaction() as sess:
        assert sess.get("locale") is None
    login(fresh, "ana@example.test", "secret-pass")
    with fresh.session_transaction() as sess:
        assert sess["locale"] == "en"
    page = fresh.get("/account/profile/").get_data(as_text=True)
    assert "Your profile" in page and "Log out" in page
    assert '<option selected value="Europe/Madrid">' in page
    assert "Ana María Pérez Gil" in page


# --- passwords are hashed ---------------------------------------------------------------------

def test_passwords_are_stored_as_scrypt_hashes(portal_app_factory):
    from werkzeug.security import check_password_hash

    import config

    # Test apps hash cheaply to stay fast; this one uses the production default.
    assert config.FAB_PASSWORD_HASH_METHOD == "scrypt"
    app = portal_app_factory(FAB_PASSWORD_HASH_METHOD=config.FAB_PASSWORD_HASH_METHOD)
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(username="ana@example.test", first_name="Ana", last_name="P", email="ana@example.test",
                           role=sm.find_role("Client"), password="secret-pass")
        stored = sm.get_user_by_id(user.id).password
    assert stored != "secret-pass" and "secret-pass" not in stored
    assert stored.startswith("scrypt:")
    assert check_password_hash(stored, "secret-pass")
    assert not check_password_hash(stored, "secret-pasS")


# --- rate limits ----------------------------------------------------------------------------

RATE_LIMITED = [
    ("/login/", {"email": "ana@example.test", "password": "wrong-pass"}),
    ("/signup/", dict(SIGNUP, password="x", confirm="x")),  # invalid: still counts
    ("/password/forgot/", {"email": "nobody@example.test"}),
]


@pytest.mark.parametrize("path, data", RATE_LIMITED)
def test_auth_posts_are_rate_limited_per_client_address(portal_app_factory, path, data):
    app = portal_app_factory(AUTH_RATE_LIMIT="3 per minute")
    client = english(app.test_client())
    here = {"REMOTE_ADDR": "203.0.113.7"}

    codes = [client.post(path, data=data, environ_base=here).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    limited = client.post(path, data=data, environ_base=here)
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert "Too many attempts" in page
    assert "Wait a minute and try again." in page
    # Reading the form is never limited; another address has its own counter.
    for _ in range(5):
        assert client.get(path, environ_base=here).status_code == 200
    assert client.post(path, data=data, environ_base={"REMOTE_ADDR": "203.0.113.8"}).status_code == 200


def test_rate_limit_page_is_translated(portal_app_factory):
    app = portal_app_factory(AUTH_RATE_LIMIT="1 per minute")
    client = app.test_client()
    client.post("/login/", data={"email": "a@b.test", "password": "x"})
    spanish = client.post("/login/", data={"email": "a@b.test", "password": "x"})
    assert spanish.status_code == 429
    assert "Too many attempts" not in spanish.get_data(as_text=True)
    english(client)
    assert "Too many attempts" in client.post("/login/", data={"email": "a@b.test", "password": "x"}).get_data(
        as_text=True)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_rate_limit_counter_is_shared_by_web_processes_through_redis(portal_app_factory):
    if not _redis_answers():
        pytest.skip("no Redis answers on 127.0.0.1:6379 (needed to show two processes share the counter)")
    settings = dict(AUTH_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
                    RATELIMIT_KEY_PREFIX=f"portal-test-{uuid.uuid4().hex}")
    first, second = portal_app_factory(**settings), portal_app_factory(**settings)
    assert first.appbuilder.sm.limiter is not second.appbuilder.sm.limiter
    here = {"REMOTE_ADDR": "198.51.100.23"}
    data = {"email": "ana@example.test", "password": "wrong-pass"}
    a, b = first.test_client(), second.test_client()

    codes = [a.post("/login/", data=data, environ_base=here).status_code,
             b.post("/login/", data=data, environ_base=here).status_code,
             a.post("/login/", data=data, environ_base=here).status_code,
             b.post("/login/", data=data, environ_base=here).status_code,
             a.post("/login/", data=data, environ_base=here).status_code]

    assert codes == [200, 200, 200, 429, 429]
    # Counters in memory would not have been shared.
    alone = portal_app_factory(AUTH_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI="memory://")
    assert alone.test_client().post("/login/", data=data, environ_base=here).status_code == 200


# --- CSRF -------------------------------------------------------------------------------------

def test_login_needs_the_csrf_token_when_csrf_is_on(portal_app_factory):
    app = portal_app_factory(WTF_CSRF_ENABLED=True)
    user_id, _ = create_user(app, "ana@example.test", "secret-pass", first_name="Ana", last_name="Pérez")
    client = app.test_client()

    response = client.post("/login/", data={"email": "ana@example.test", "password": "secret-pass"})
    assert response.status_code == 400
    assert session_user(client) is None

    token = csrf_token(client.get("/login/").get_data(as_text=True))
    response = client.post("/login/", data={"email": "ana@example.test", "password": "secret-pass",
                                            "csrf_token": token})
    assert response.status_code == 302
    assert session_user(client) == str(user_id)

    # A token from another session is refused too.
    other = app.test_client()
    assert other.post("/login/", data={"email": "ana@example.test", "password": "secret-pass",
                                       "csrf_token": token}).status_code == 400
    assert session_user(other) is None


def test_ticket_reply_needs_the_csrf_token_when_csrf_is_on(portal_app_factory):
    from demo import load_demo
    from models.support import Ticket, TicketMessage

    app = portal_app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo()
        from models import db

        number = db.session.scalar(select(Ticket.number).order_by(Ticket.updated_at.desc()).limit(1))
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.number == number))
    client = app.test_client()
    token = csrf_token(client.get("/login/").get_data(as_text=True))
    assert client.post("/login/", data={"email": "cliente@demo.test", "password": "cliente",
                                        "csrf_token": token}).status_code == 302
    before = count(app, TicketMessage, TicketMessage.ticket_id == ticket_id)

    response = client.post(f"/support/tickets/{number}/reply", data={"message": "Sin token",
                                                                     "submission_key": "csrf-1"})
    assert response.status_code == 400
    assert count(app, TicketMessage, TicketMessage.ticket_id == ticket_id) == before

    token = csrf_token(client.get(f"/support/tickets/{number}").get_data(as_text=True))
    response = client.post(f"/support/tickets/{number}/reply", data={
        "message": "Con token", "submission_key": "csrf-2", "csrf_token": token})
    assert response.status_code == 302
    assert count(app, TicketMessage, TicketMessage.ticket_id == ticket_id) == before + 1


def test_changing_the_password_ends_the_users_other_sessions(portal_app, make_user):
    make_user("dos@test.test", "primera-clave")
    here, elsewhere = portal_app.test_client(), portal_app.test_client()
    login(here, "dos@test.test", "primera-clave")
    login(elsewhere, "dos@test.test", "primera-clave")
    assert elsewhere.get("/clientarea/").status_code == 200
    response = here.post("/account/password/", data={"current": "primera-clave", "password": "segunda-clave",
                                                      "confirm": "segunda-clave"})
    assert response.status_code == 302
    assert here.get("/clientarea/").status_code == 200  # the session that changed it goes on
    stale = elsewhere.get("/clientarea/")
    assert stale.status_code == 302 and "/login/" in stale.headers["Location"]
    assert "/login/" in elsewhere.get("/clientarea/").headers["Location"]  # and stays ended


def test_signed_in_pages_are_not_cached(portal_app, make_user):
    make_user("cache@test.test", "clave-cache-1")
    client = portal_app.test_client()
    assert "no-store" not in client.get("/login/").headers.get("Cache-Control", "")
    login(client, "cache@test.test", "clave-cache-1")
    assert client.get("/clientarea/").headers["Cache-Control"] == "no-store"
