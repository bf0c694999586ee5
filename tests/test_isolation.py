"""The isolation suite (issue 3): over every registered route (the app's URL map, so a new
view is covered without anyone listing it here), nobody reaches rows that are not theirs.

- Client A, with client B's ids in every id parameter: 404 (or a refusal when the role has
  no business on that view), nothing in the database changes, nothing of B's in any page.
- A contact of A without a scope: every route that needs the scope answers 403, its menu
  entries and tiles are hidden, and nothing of that area shows anywhere.
- A staff member of one department, with another department's tickets: 404, nothing
  changes; their queue and API list do not show those tickets.
- A view added without row rules is reported (test_the_sweep_reports_a_view_without_row_rules).

Which record an id parameter names is worked out, not listed: ``pk`` is a row of the view's
own model (``view.datamodel.obj``, or a Flask-Admin view's ``model``), ``<table>_id`` a row
of that table, ``number`` the view model's ``number`` (tickets for views without a model).
Which rows belong to an account is worked out from the schema: the client row, rows with a
foreign key to those, and so on down (tickets -> messages -> attachments, invoices -> lines).
An integer parameter that names no table is reported, so a new kind of id cannot slip by.

The sweeps return lists of violations instead of asserting, so that one test can show that
they catch a leaky view.
"""
from __future__ import annotations

import inspect
import io
import itertools
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from test_access import PUBLIC, build_url, routes

from plugins.testing import login

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WRITES = ("POST", "PUT", "DELETE", "PATCH")
ID_PARAMS = ("pk", "id", "number")  # besides <table>_id
# Columns that change on every log-in, not through the routes under test.
VOLATILE_COLUMNS = {"ab_user": {"last_login", "login_count", "fail_login_count", "changed_on"}}
# Tables no account owns (a route whose only id names one of these has nothing to sweep).
NOT_OWNED = {"ab_user", "department"}

# Client routes that need no scope, and why. Any other route a client may use must need a
# scope, read from the code: a view's ``required_scope`` (ClientScopedView) or ``scope``
# (ScopedApi), or a ``require_scope("...")`` call in the endpoint.
NO_SCOPE = {
    "ClientHomeView.home": "the dashboard: each tile shows only with its scope (checked by the markers)",
    "AccountView.profile": "the user's own name, language and time zone, not the account's",
    "AccountView.password": "the user's own password",
    "AccountSwitchView": "switching to another of the user's own memberships (404 for any other account)",
    "DepartmentApi": "the list of active departments, the same for everyone (to open a ticket)",
}

# --- Data ---------------------------------------------------------------------------------

class Upload:
    def __init__(self, name):
        self.filename = name
        self.stream = io.BytesIO(PDF)


def seed_account(app, client_id, tag, *, department, staff_user_id, company=None):
    """A service, a domain, an invoice, a contact without login, a company change and a
    ticket with an attachment, a staff reply and an internal note with an attachment.
    Every text carries ``tag``; returns the marker strings per scope."""
    import datetime as dt
    from decimal import Decimal

    from models import db
    from models import support as ops
    from models.accounts import Client, Contact, update_client
    from models.billing import Invoice
    from models.catalog import Domain, Service
    from models.support import Department, NewTicket

    store = app.extensions["portal"].attachments
    with app.app_context():
        client = db.session.get(Client, client_id)
        update_client(db.session, client, {"tax_id": f"{tag}-old-tax"}, None)
        update_client(db.session, client, {"tax_id": "900123", **({"company_name": company} if company else {})},
                      None)
        service = Service(client_id=client_id, name=f"{tag} service", amount=Decimal(10))
        domain = Domain(client_id=client_id, name=f"{tag.lower()}-domain.test")
        invoice = Invoice(client_id=client_id, number=f"{tag}-INV-1", issued_on=dt.date.today(),
                          due_on=dt.date.today())
        invoice.add_line(f"{tag} line", Decimal(1), Decimal(99))
        contact = Contact(client_id=client_id, name=f"{tag} contact", email=f"{tag.lower()}-contact@x.test",
                          scopes="billing_emails")
        db.session.add_all([service, domain, invoice, contact])
        db.session.commit()
        dep = db.session.scalar(select(Department).where(Department.slug == department))
        ticket = ops.open_ticket(db.session, NewTicket(
            client_id=client_id, department_id=dep.id, name=f"{tag} person", email=f"{tag.lower()}@x.test",
            subject=f"{tag} ticket subject", body=f"{tag} body", service_id=service.id,
            files=[Upload(f"{tag}-file.pdf")]), store)
        ops.reply(db.session, ticket, user_id=staff_user_id, author_name="Staff", body=f"{tag} staff answer",
                  from_staff=True)
        ops.reply(db.session, ticket, user_id=staff_user_id, author_name="Staff", body=f"{tag} internal note",
                  from_staff=True, internal=True, files=[Upload(f"{tag}-internal.pdf")], files_store=store)
        return {"services": f"{tag} service", "domains": f"{tag.lower()}-domain.test", "invoices": f"{tag}-INV-1",
                "tickets": f"{tag} ticket subject", "contacts": f"{tag} contact", "profile": f"{tag}-old-tax"}


@dataclass
class World:
    app: object
    client_a: int
    client_b: int
    markers_a: dict
    markers_b: dict
    department_x: int
    staff_x: str = "x-staff@portal.test"


@pytest.fixture
def world(demo_app, make_user):
    """Client A (the demo client, cliente@demo.test) and client B, each with data in every
    area; a staff member of department X ("moodle"), with A's ticket in X and both accounts'
    tickets in Y ("web")."""
    from models import db
    from models.accounts import Contact
    from models.support import Department, StaffDepartment

    _, client_b = make_user("b-owner@b.test", "b-password", first_name="Bea", last_name="Bravo")
    staff_id, _ = make_user("x-staff@portal.test", "x-password", role="Staff", first_name="Xavier")
    with demo_app.app_context():
        client_a = db.session.scalar(select(Contact.client_id).where(Contact.email == "cliente@demo.test"))
        x = db.session.scalar(select(Department).where(Department.slug == "moodle"))
        db.session.add(StaffDepartment(user_id=staff_id, department_id=x.id))
        db.session.commit()
        x_id = x.id
    markers_a = seed_account(demo_app, client_a, "Aqx", department="web", staff_user_id=staff_id)
    markers_b = seed_account(demo_app, client_b, "Bqx", department="web", staff_user_id=staff_id,
                             company="Bqx company")
    # A's ticket in the staff member's own department (what they must still see).
    from models import support as ops
    from models.support import NewTicket

    with demo_app.app_context():
        ops.open_ticket(db.session, NewTicket(
            client_id=client_a, department_id=x_id, name="A", email="a@x.test", subject="Aqx in-X subject",
            body="x", files=[Upload("x-file.pdf")]), demo_app.extensions["portal"].attachments)
    return World(demo_app, client_a, client_b, markers_a, markers_b, x_id)


# --- What a route is, and whose rows ------------------------------------------------------

def views_by_blueprint(app) -> dict:
    found = {view.endpoint: view for view in app.appbuilder.baseviews}
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            found[view.endpoint] = view
    return found


def model_table(view):
    datamodel = getattr(view, "datamodel", None)
    if datamodel is not None:
        return datamodel.obj.__table__
    model = getattr(view, "model", None)  # Flask-Admin
    return getattr(model, "__table__", None)


def is_flask_admin_model_view(view) -> bool:
    from flask_admin.model import BaseModelView

    return isinstance(view, BaseModelView)


def owned_rows(app, roots: dict) -> dict:
    """{table name: [(pk, number or None), ...]} of the rows under ``roots`` ({table: ids}):
    those rows, then every row with a foreign key to a row already found, table by table in
    dependency order."""
    from models import Model, db

    found: dict[str, list] = {}
    with app.app_context():
        for table in Model.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1:
                continue
            conditions = []
            if table.name in roots:
                conditions.append(pk[0].in_(roots[table.name]))
            else:
                for fk in table.foreign_keys:
                    parent = fk.column.table.name
                    if parent in found and parent not in NOT_OWNED:
                        conditions.append(fk.parent.in_([row[0] for row in found[parent]]))
            if not conditions:
                continue
            number = table.columns.get("number")
            columns = [pk[0], number if number is not None else pk[0]]
            from sqlalchemy import or_

            rows = db.session.execute(select(*columns).where(or_(*conditions))).all()
            found[table.name] = [(row[0], row[1] if number is not None else None) for row in rows]
        db.session.remove()
    return found


def snapshot(app) -> dict:
    """Every row of every table (but the log-in counters)."""
    from models import Model, db

    with app.app_context():
        tables = {}
        for table in Model.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS.get(table.name, ())]
            rows = db.session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            tables[table.name] = [tuple(row) for row in rows]
        db.session.remove()
    return tables


def changed_tables(before: dict, after: dict) -> list[str]:
    return [f"table {name} changed: {len(before[name])} -> {len(after[name])} rows"
            for name in before if before[name] != after[name]]


def id_table(rule, name, view):
    """The table whose row the parameter ``name`` names, or None when it names no row."""
    from models import Model

    tables = Model.metadata.tables
    own = model_table(view) if view is not None else None
    if own is None and getattr(view, "route_base", None):  # a BaseView: /clientarea/contacts -> contact
        segment = view.route_base.rstrip("/").rsplit("/", 1)[-1]
        own = tables.get(segment) if segment in tables else tables.get(segment[:-1]) if segment.endswith("s") \
            else None
    if name in ("pk", "id"):
        return own
    if name == "number":
        return own if own is not None and "number" in own.columns else tables["ticket"]
    if name.endswith("_id"):
        return tables.get(name[:-3])
    return None


def is_id_param(rule, name) -> bool:
    converter = rule._converters[name].__class__.__name__
    return name in ID_PARAMS or name.endswith("_id") or converter == "IntegerConverter"


def filler(rule, name, view):
    if name == "name" and getattr(view, "actions", None):  # FAB's /action/<name>/<pk>
        return next(iter(view.actions))
    return 1 if rule._converters[name].__class__.__name__ == "IntegerConverter" else "x"


def permission_of(view, method_name) -> str:
    return "can_" + (getattr(view, "method_permission_name", None) or {}).get(method_name, method_name)


def role_may(app, role: str, view, method_name) -> bool:
    """Whether ``role`` (a built-in role: its patterns) may call this endpoint at all:
    the role names the view and permission, and the view's base_permissions allow it."""
    if view is None or not hasattr(view, "class_permission_name"):
        return False  # not a Flask-AppBuilder view: the console is for administrators
    permission = permission_of(view, method_name)
    if view.base_permissions and permission not in view.base_permissions:
        return False
    return any(re.match(v, view.class_permission_name) and re.match(p, permission)
               for v, p in app.appbuilder.sm.builtin_roles.get(role, []))


@dataclass
class Actor:
    """A logged-in test client, with a JWT for the API."""
    http: object
    token: str | None
    who: str


def actor(app, email, password) -> Actor:
    http = app.test_client()
    response = login(http, email, password)
    assert response.status_code == 302 and "/login" not in response.headers["Location"], f"{email} cannot log in"
    token = http.post("/api/v1/security/login", json={"username": email, "password": password,
                                                      "provider": "db"}).get_json()["access_token"]
    return Actor(http, token, email)


def request(who: Actor, rule, method, url, ids: dict | None = None):
    headers = {"Authorization": f"Bearer {who.token}"} if rule.rule.startswith("/api/") else {}
    kwargs = {}
    if ids:  # Flask-Admin names the row in the query string or the form
        first = next(iter(ids.values()))
        url += f"?id={first}"
        if method in WRITES:
            kwargs["data"] = {"id": first, "rowid": first}
    elif method in WRITES and rule.rule.startswith("/api/"):
        kwargs["json"] = {}
    return who.http.open(url, method=method, headers=headers, **kwargs)


def id_routes(app, rows: dict):
    """(rule, method, view, url, flask-admin ids) for every route naming a row, each filled
    with every combination of ``rows``'s ids for it; unresolvable id parameters are yielded
    as (rule, method, view, None, problem)."""
    views = views_by_blueprint(app)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        view = views.get(rule.endpoint.split(".")[0])
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        candidates, problem = {}, None
        for name in rule.arguments:
            if not is_id_param(rule, name):
                candidates[name] = [filler(rule, name, view)]
                continue
            table = id_table(rule, name, view)
            if table is None:
                problem = f"cannot tell which table <{name}> names: teach id_table()"
                break
            values = [number if name == "number" else pk for pk, number in rows.get(table.name, [])]
            if not values:
                candidates = None  # nobody's rows of that table here: nothing to sweep
                break
            candidates[name] = values
        admin_ids = None
        if view is not None and is_flask_admin_model_view(view) and not rule.arguments:
            table = model_table(view)
            admin_ids = [pk for pk, _ in rows.get(table.name, [])]
            if not admin_ids:
                continue
        elif candidates is not None and not any(is_id_param(rule, n) for n in rule.arguments):
            continue  # names no row
        if problem:
            for method in methods:
                yield rule, method, view, None, problem
            continue
        if candidates is None:
            continue
        if rule.rule.startswith("/api/"):
            methods = sorted(set(methods) | {"PUT", "DELETE"})  # 405, and never a change
        names = list(candidates)
        for combination in itertools.product(*(candidates[n] for n in names)):
            url = build_url(rule, dict(zip(names, combination)))
            for admin_id in (admin_ids or [None]):
                for method in methods:
                    yield rule, method, view, url, ({"id": admin_id} if admin_id is not None else None)


def contains_any(response, markers) -> list[str]:
    body = response.get_data().lower()
    return [m for m in markers if m.lower().encode() in body]


# --- The sweeps -----------------------------------------------------------------------------

def sweep_foreign_rows(app, who: Actor, role: str, foreign: dict, markers, own: dict | None = None) -> list[str]:
    """As ``who`` (of ``role``), every route naming one of the ``foreign`` rows (every method)
    answers 404 where the role may use the view, and a refusal elsewhere; no response shows
    a ``marker``; no page without an id shows one either; nothing in the database changes.
    With ``own`` rows, every GET the role may use answers 200 for at least one of them
    (so the 404s are not those of a broken route). Returns the violations."""
    violations = []
    before = snapshot(app)
    for rule, method, view, url, ids in id_routes(app, foreign):
        where = f"{method} {url or rule.rule} ({rule.endpoint})"
        if url is None:
            violations.append(f"{where}: {ids}")
            continue
        response = request(who, rule, method, url, ids)
        method_name = rule.endpoint.split(".")[-1]
        if method not in rule.methods:
            expected = {405}
        elif role_may(app, role, view, method_name):
            expected = {404}
        else:
            expected = {302, 403, 404, 405}
        if response.status_code not in expected:
            violations.append(f"{where}: {response.status_code}, expected {sorted(expected)}")
        leaked = contains_any(response, markers)
        if leaked:
            violations.append(f"{where}: shows {leaked}")
    violations += sweep_pages_without_ids(app, who, markers)
    violations += changed_tables(before, snapshot(app))
    if own is not None:
        violations += check_own_rows_open(app, who, role, own)
    return violations


def sweep_pages_without_ids(app, who: Actor, markers) -> list[str]:
    """GET every route naming no row (lists, forms, dashboards, API lists): no marker."""
    violations = []
    views = views_by_blueprint(app)
    for rule, method in routes(app):
        if method != "GET" or rule.endpoint in PUBLIC or rule.endpoint.endswith("static"):
            continue
        if any(is_id_param(rule, name) for name in rule.arguments):
            continue
        view = views.get(rule.endpoint.split(".")[0])
        url = build_url(rule, {name: filler(rule, name, view) for name in rule.arguments})
        response = request(who, rule, method, url)
        if response.status_code >= 500:
            violations.append(f"GET {url} ({rule.endpoint}): {response.status_code}")
        leaked = contains_any(response, markers)
        if leaked:
            violations.append(f"GET {url} ({rule.endpoint}): shows {leaked}")
    return violations


def check_own_rows_open(app, who: Actor, role: str, own: dict) -> list[str]:
    opened: dict[str, bool] = {}
    for rule, method, view, url, ids in id_routes(app, own):
        if method != "GET" or url is None or not role_may(app, role, view, rule.endpoint.split(".")[-1]):
            continue
        ok = request(who, rule, method, url, ids).status_code == 200
        opened[rule.endpoint] = opened.get(rule.endpoint, False) or ok
    return [f"{endpoint}: none of {who.who}'s own rows opens (the 404s prove nothing)"
            for endpoint, ok in opened.items() if not ok]


def route_scopes(view, method_name) -> set[str]:
    """The scopes an endpoint needs, read from the code: the view's ``required_scope``
    (ClientScopedView) or ``scope`` (ScopedApi), and ``require_scope("...")`` calls in it."""
    scopes = set()
    for attribute in ("required_scope", "scope"):
        value = getattr(view, attribute, None)
        if isinstance(value, str) and value:
            scopes.add(value)
    # The endpoint's code and that of the view's own helpers it calls (self._helper(...)).
    pending, seen = [method_name], set()
    while pending:
        name = pending.pop()
        function = getattr(view if isinstance(view, type) else type(view), name, None)
        if name in seen or function is None or not callable(function):
            continue
        seen.add(name)
        try:
            source = inspect.getsource(inspect.unwrap(function))
        except (OSError, TypeError):
            continue
        scopes.update(re.findall(r"require_scope\(\s*[\"'](\w+)[\"']\s*\)", source))
        pending += re.findall(r"self\.(_\w+)\(", source)
    return scopes


def client_routes(app):
    """(rule, method, view, scopes) for every route the Client role may use."""
    views = views_by_blueprint(app)
    for rule, method in routes(app):
        if rule.endpoint in PUBLIC:
            continue
        view = views.get(rule.endpoint.split(".")[0])
        method_name = rule.endpoint.split(".")[-1]
        if role_may(app, "Client", view, method_name):
            yield rule, method, view, route_scopes(view, method_name)


def sweep_missing_scopes(app, who: Actor, missing: set, own: dict, markers: dict) -> list[str]:
    """As a contact whose membership lacks ``missing`` scopes: every client route needing one
    of them answers 403 (writes included, and nothing changes); the dashboard links to none
    of them; no client page shows the markers of those areas."""
    violations = []
    hidden = [markers[s] for s in missing if s in markers]
    before = snapshot(app)
    home = who.http.get("/", follow_redirects=True).get_data(as_text=True)
    for rule, method, view, scopes in client_routes(app):
        if not scopes and rule.endpoint not in NO_SCOPE and rule.endpoint.split(".")[0] not in NO_SCOPE:
            violations.append(f"{rule.endpoint}: a client route with no scope; require one or list it in NO_SCOPE")
        values = {}
        for name in rule.arguments:
            table = id_table(rule, name, view) if is_id_param(rule, name) else None
            rows = own.get(table.name, []) if table is not None else []
            values[name] = (rows[0][1] if name == "number" else rows[0][0]) if rows else filler(rule, name, view)
        url = build_url(rule, values)
        where = f"{method} {url} ({rule.endpoint}) without {sorted(missing & scopes) or sorted(missing)}"
        if scopes & missing:
            response = request(who, rule, method, url)
            if response.status_code != 403:
                violations.append(f"{where}: {response.status_code}, expected 403")
            if method == "GET" and not rule.arguments and f'href="{url}"' in home:
                violations.append(f"{where}: linked from the home page")
        elif method == "GET":
            response = request(who, rule, method, url)
            if response.status_code == 403:  # the scopes it has work too
                violations.append(f"{method} {url} ({rule.endpoint}): 403 with scopes {sorted(scopes)}")
        else:
            continue  # a write the membership may make: not this test's business
        if response.status_code >= 500:
            violations.append(f"{where}: {response.status_code}")
        leaked = contains_any(response, hidden)
        if leaked:
            violations.append(f"{where}: shows {leaked}")
    violations += [f"home page without {sorted(missing)}: shows {m}" for m in hidden if m.lower() in home.lower()]
    violations += changed_tables(before, snapshot(app))
    return violations


# --- Tests ----------------------------------------------------------------------------------

def test_a_client_never_reaches_another_accounts_records(world):
    app = world.app
    foreign = owned_rows(app, {"client": [world.client_b]})
    own = owned_rows(app, {"client": [world.client_a]})
    assert foreign["ticket"] and foreign["attachment"] and foreign["service"] and foreign["client_change"]
    a = actor(app, "cliente@demo.test", "cliente")
    b_markers = list(world.markers_b.values()) + ["Bqx company", "Bqx person", "Bqx internal note"]
    violations = sweep_foreign_rows(app, a, "Client", foreign, b_markers, own=own)
    # A session naming B's account (a forged or stale account switch) changes nothing.
    with a.http.session_transaction() as session:
        session["client_id"] = world.client_b
    violations = violations + sweep_pages_without_ids(app, a, b_markers)
    assert not violations, "\n".join(violations)


def test_a_client_never_sees_internal_notes_or_their_files(world):
    from models import db
    from models.support import Attachment, Ticket, TicketMessage

    app = world.app
    a = actor(app, "cliente@demo.test", "cliente")
    with app.app_context():
        files = db.session.execute(select(Attachment.id, TicketMessage.internal)
                                   .join(TicketMessage, TicketMessage.id == Attachment.message_id)
                                   .where(Attachment.original_name.like("Aqx-%"))).all()
    assert {internal for _, internal in files} == {True, False}
    for attachment_id, internal in files:
        assert a.http.get(f"/attachments/{attachment_id}").status_code == (404 if internal else 200)
    with app.app_context():
        seeded = db.session.scalars(select(Ticket.id).where(Ticket.subject == world.markers_a["tickets"])).all()
    for rule, method, view, url, ids in id_routes(app, owned_rows(app, {"ticket": seeded})):
        if method == "GET" and url is not None:
            assert b"Aqx internal note" not in request(a, rule, method, url, ids).data, url


@pytest.mark.parametrize("missing", ["every scope", "each scope"])
def test_a_contact_without_a_scope_gets_403_and_no_menu_entry(world, make_user, missing):
    from models.accounts import SCOPES

    app = world.app
    own = owned_rows(app, {"client": [world.client_a]})
    cases = [set(SCOPES)] if missing == "every scope" else [{scope} for scope in SCOPES]
    needed = {scope for *_, scopes in client_routes(app) for scope in scopes}
    assert needed <= set(SCOPES), f"unknown scopes required: {needed - set(SCOPES)}"
    violations = []
    for n, lacking in enumerate(cases):
        email = f"contact{n}@a.test"
        make_user(email, "contact-pass", client=world.client_a, owner=False,
                  scopes=" ".join(s for s in SCOPES if s not in lacking))
        violations += sweep_missing_scopes(app, actor(app, email, "contact-pass"), lacking, own, world.markers_a)
    assert not violations, "\n".join(violations)


def test_scopes_are_read_from_the_code():
    """The mapping the scope sweep uses, for the views that exist today (a new client view
    joins it through its own declaration)."""
    from views.api import DomainApi, ServiceApi
    from views.catalog import MyDomainsView, MyInvoicesView, MyServicesView
    from views.home import ClientHomeView
    from views.tickets import ClientTicketsView

    assert route_scopes(MyServicesView, "show") == {"services"}
    assert route_scopes(MyDomainsView, "list") == {"domains"}
    assert route_scopes(MyInvoicesView, "show") == {"invoices"}
    assert route_scopes(ServiceApi, "get") == {"services"} and route_scopes(DomainApi, "get_list") == {"domains"}
    assert route_scopes(ClientTicketsView, "reply") == {"tickets"}
    assert route_scopes(ClientHomeView, "company") == {"profile"}
    assert route_scopes(ClientHomeView, "home") == set()


def test_staff_never_reach_another_departments_tickets(world):
    from models import db
    from models.support import Ticket

    app = world.app
    with app.app_context():
        seeded = Ticket.subject.like("%qx%")  # this suite's tickets (the demo's are many more)
        others = db.session.scalars(select(Ticket.id).where(seeded, Ticket.department_id != world.department_x)).all()
        mine = db.session.scalars(select(Ticket.id).where(seeded, Ticket.department_id == world.department_x)).all()
        all_mine = db.session.scalars(select(Ticket.id).where(Ticket.department_id == world.department_x)).all()
    assert others and mine
    foreign = owned_rows(app, {"ticket": others})
    own = owned_rows(app, {"ticket": mine})
    assert foreign["attachment"] and own["attachment"]
    staff = actor(app, world.staff_x, "x-password")
    markers = ["Aqx ticket subject", "Bqx ticket subject", "Bqx internal note"]
    violations = sweep_foreign_rows(app, staff, "Staff", foreign, markers, own=own)
    assert not violations, "\n".join(violations)
    # Their queue and the API list show their department's tickets, and only those.
    queue = staff.http.get("/staff/tickets/list/").get_data(as_text=True)
    api = staff.http.get("/api/v1/tickets/?q=(page_size:100)",
                         headers={"Authorization": f"Bearer {staff.token}"}).get_json()
    assert "Aqx in-X subject" in queue and "Aqx in-X subject" in {t["subject"] for t in api["result"]}
    assert set(api["ids"]) == set(all_mine)


def test_the_sweep_reports_a_view_without_row_rules(world, portal_app_factory, monkeypatch):
    """A generated view over services, granted to clients, without base_filters: the sweep
    finds its show page answering B's service, and its list showing B's service."""
    from flask_appbuilder import ModelView

    from models.catalog import Service
    from views import roles
    from views.datamodel import PortalInterface

    class LeakyServicesView(ModelView):
        route_base = "/leaky"
        datamodel = PortalInterface(Service)
        base_permissions = ["can_list", "can_show"]
        list_columns = show_columns = ["name"]

    definitions = dict(roles.ROLE_DEFINITIONS)
    definitions["Client"] = [(roles._exactly(roles.CLIENT_VIEWS + ("LeakyServicesView",)), "^can_.*$"),
                             *roles.ROLE_DEFINITIONS["Client"][1:]]
    monkeypatch.setattr(roles, "ROLE_DEFINITIONS", definitions)
    app = portal_app_factory()
    with app.app_context():
        app.appbuilder.add_view_no_menu(LeakyServicesView)
    foreign = owned_rows(app, {"client": [world.client_b]})
    a = actor(app, "cliente@demo.test", "cliente")
    violations = sweep_foreign_rows(app, a, "Client", foreign, list(world.markers_b.values()))
    service_b = foreign["service"][0][0]
    assert f"GET /leaky/show/{service_b} (LeakyServicesView.show): 200, expected [404]" in violations
    assert any(v.startswith("GET /leaky/list/ (LeakyServicesView.list): shows") for v in violations)
    # and the scope sweep: a client view over services that asks for no scope
    assert any("LeakyServicesView.list: a client route with no scope" in v
               for v in sweep_missing_scopes(app, a, set(), owned_rows(app, {"client": [world.client_a]}),
                                             world.markers_a))
