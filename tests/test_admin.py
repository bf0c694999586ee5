"""Administrators manage users, roles and departments from the generated views."""
from flask_appbuilder.security.sqla.models import Role, User

from models import db
from models.support import Department, NewTicket, open_ticket
from plugins.testing import login


def test_administrator_adds_a_staff_user_and_a_department_and_the_user_sees_its_tickets(portal_app, make_user):
    make_user("admin@test.test", "admin-pass", role="Admin")
    _, client_id = make_user("client@test.test", "client-pass")
    admin = portal_app.test_client()
    login(admin, "admin@test.test", "admin-pass")
    with portal_app.app_context():
        staff_role = db.session.query(Role).filter_by(name="Staff").one().id

    response = admin.post("/users/add", data={
        "first_name": "Nora", "last_name": "Nube", "username": "Nora", "active": "y",
        "email": " Nora@Test.TEST ", "roles": [str(staff_role)], "password": "nora-pass-1", "conf_password": "nora-pass-1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with portal_app.app_context():
        nora = db.session.query(User).filter_by(email="nora@test.test").one()
        nora_id = nora.id
        assert [r.name for r in nora.roles] == ["Staff"]

    response = admin.post("/admin/departments/add", data={
        "slug": "nube", "name_es": "Soporte Nube", "name_en": "Cloud support", "description_es": "Servidores",
        "description_en": "Servers", "email": "", "active": "y", "sort_order": "60", "staff": [str(nora_id)]})
    assert response.status_code == 302, response.get_data(as_text=True)

    with portal_app.app_context():
        cloud = db.session.query(Department).filter_by(slug="nube").one()
        moodle = db.session.query(Department).filter_by(slug="moodle").one()
        assert [u.email for u in cloud.staff] == ["nora@test.test"]
        store = portal_app.extensions["portal"].attachments
        mine = open_ticket(db.session, NewTicket(client_id=client_id, department_id=cloud.id, name="C",
                                                 email="client@test.test", subject="Servidor caído", body="..."), store)
        other = open_ticket(db.session, NewTicket(client_id=client_id, department_id=moodle.id, name="C",
                                                  email="client@test.test", subject="Curso", body="..."), store)
        mine_number, other_number = mine.number, other.number

    staff = portal_app.test_client()
    login(staff, "nora@test.test", "nora-pass-1")
    queue = staff.get("/staff/tickets/list/").get_data(as_text=True)
    assert mine_number in queue and other_number not in queue
    assert staff.get(f"/staff/ticket/{mine_number}").status_code == 200
    assert staff.get(f"/staff/ticket/{other_number}").status_code == 404

    # The client chooses among the active departments, the new one included.
    client = portal_app.test_client()
    login(client, "client@test.test", "client-pass")
    assert "Soporte Nube" in client.get("/support/open/").get_data(as_text=True)


def test_only_administrators_reach_the_security_and_department_pages(portal_app, make_user):
    make_user("client@test.test", "client-pass")
    make_user("staff@test.test", "staff-pass", role="Staff")
    for email, password in (("client@test.test", "client-pass"), ("staff@test.test", "staff-pass")):
        client = portal_app.test_client()
        login(client, email, password)
        for path in ("/users/list/", "/roles/list/", "/admin/departments/list/", "/admin/departments/add"):
            response = client.get(path)
            assert response.status_code in (302, 403), (email, path, response.status_code)
            assert b"Soporte Moodle" not in response.data
        assert client.post("/admin/departments/add", data={"slug": "x", "name_es": "X", "name_en": "X"}
                           ).status_code in (302, 403)
    with portal_app.app_context():
        assert db.session.query(Department).filter_by(slug="x").count() == 0


def test_administrator_adds_a_contact_who_is_not_the_owner_with_known_scopes_only(portal_app, make_user):
    from models.accounts import Contact

    make_user("admin@test.test", "admin-pass", role="Admin")
    _, client_id = make_user("owner@test.test", "owner-pass")
    admin = portal_app.test_client()
    login(admin, "admin@test.test", "admin-pass")
    admin.get("/language/en")
    contact = {"client": str(client_id), "name": "Jorge Contador", "email": "jorge@test.test", "phone": "",
               "position": "Contador", "active": "y", "scopes": "invoices billing_emails"}  # "is_owner" unticked
    response = admin.post("/admin/contacts/add", data=contact)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with portal_app.app_context():
        jorge = db.session.query(Contact).filter_by(email="jorge@test.test").one()
        assert (jorge.is_owner, jorge.scopes, jorge.has_scope("tickets")) == (False, "invoices billing_emails", False)

    page = admin.post("/admin/contacts/add", data={**contact, "email": "x@test.test", "scopes": "invoices foo bar"})
    assert "Unknown scopes: foo bar." in page.get_data(as_text=True)
    with portal_app.app_context():
        assert db.session.query(Contact).filter_by(email="x@test.test").count() == 0
