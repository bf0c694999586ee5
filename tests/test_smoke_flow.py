"""The first thing a user does, end to end: log in, open a ticket with an attachment, see it
listed, get the staff reply by e-mail, answer it in the portal."""
import io

from plugins.testing import login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_client_opens_ticket_staff_replies_client_gets_email_and_answers(demo_app, smtp_server):
    client = demo_app.test_client()
    assert login(client, "cliente@demo.test", "cliente").status_code == 302

    page = client.get("/support/open/")
    assert "Soporte Moodle" in page.get_data(as_text=True)
    response = client.post("/support/open/moodle", data={
        "department_id": _department_id(demo_app, "moodle"), "subject": "No cargan los certificados",
        "message": "Al generar el certificado sale **error 500**.", "priority": "high", "service_id": "none",
        "submission_key": "abc123",
        "attachments": [(io.BytesIO(PNG), "captura pantalla ñandú.PNG")],
    }, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    number = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert len(number) == 6 and number.isdigit()

    listing = client.get("/support/tickets/").get_data(as_text=True)
    assert f"#{number} No cargan los certificados" in listing
    assert "Viendo 1 a 10 de 64 entradas" in listing

    # New ticket: the Moodle department's staff got an e-mail.
    assert [m["Subject"] for m in smtp_server.sink.to("moodle@demo.test")] == [
        f"Nuevo ticket #{number}: No cargan los certificados"]

    staff = demo_app.test_client()
    login(staff, "moodle@demo.test", "agente")
    reply = staff.post(f"/staff/ticket/{number}/reply", data={"message": "Ya quedó corregido.",
                                                               "submission_key": "s1"})
    assert reply.status_code == 302
    mails = smtp_server.sink.to("cliente@demo.test")
    assert len(mails) == 1
    body = mails[0].get_content()
    assert f"#{number}" in mails[0]["Subject"]
    assert "Ya quedó corregido." in body
    assert f"http://portal.test/support/tickets/{number}" in body
    assert "No responda este correo" in body

    thread = client.get(f"/support/tickets/{number}").get_data(as_text=True)
    assert "Ya quedó corregido." in thread
    assert "<strong>error 500</strong>" in thread
    assert "captura pantalla ñandú.PNG" in thread
    answer = client.post(f"/support/tickets/{number}/reply", data={"message": "Gracias", "submission_key": "c1"})
    assert answer.status_code == 302
    assert "Respuesta del cliente" in client.get(f"/support/tickets/{number}").get_data(as_text=True)


def _department_id(app, slug):
    from models import db
    from models.support import Department

    with app.app_context():
        return db.session.query(Department.id).filter_by(slug=slug).scalar()
