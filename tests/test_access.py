"""Who reaches what, checked over every registered route (from the app's URL map, so a
new view is covered without anyone remembering to add it here). Anonymous users here; other
accounts, scopes and departments in test_isolation.py."""
from __future__ import annotations

from plugins.testing import login

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
    "ContactInvitationView.accept": "the e-mailed contact invitation link (its signed token is the key)",
    "SecurityApi.login": "REST API log-in (JWT)",
    "SecurityApi.refresh": "REST API token refresh (needs a refresh token)",
    "static": "static files",
    "appbuilder.static": "Flask-AppBuilder's static files",
}


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
