"""Ticket attachments: what is accepted (extension and content), the size limit, that a refused
file writes nothing, where files are kept, and who may download them and how.

Real files go through real multipart requests into ATTACHMENT_DIR; the checks look at the
database rows and the directory itself."""
import io
import re
import zipfile
from pathlib import Path

import pytest
from werkzeug.http import parse_options_header

from plugins.testing import login
from ticket_helpers import counts, department_id, flash_errors

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 48
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x02" * 48
GIF = b"GIF89a" + b"\x03" * 48
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 56
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
MIB = 1024 * 1024


def zip_bytes(parts: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
XLSX = zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
PLAIN_ZIP = zip_bytes({"readme.txt": "not a word document"})


# --- helpers ---------------------------------------------------------------------------------

def stored_files(app) -> list[Path]:
    directory = Path(app.config["ATTACHMENT_DIR"])
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def client_session(app, make_user, email="cliente@empresa.test", password="clave-secreta-1", **kwargs):
    """A logged-in test client of a new Client user (owner of a new account), in English."""
    user_id, client_id = make_user(email, password, "Client", **kwargs)
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    client.get("/language/en")
    return client, user_id, client_id


def post_ticket(client, app, files, slug="moodle", subject="Certificados con error",
                message="El certificado sale en blanco.", key=None):
    data = {"department_id": department_id(app, slug), "subject": subject, "message": message,
            "priority": "medium", "service_id": "none",
            "attachments": [(io.BytesIO(content), name) for name, content in files]}
    if key:
        data["submission_key"] = key
    return client.post(f"/support/open/{slug}", data=data, content_type="multipart/form-data")


def number_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def attachments_of(app, number):
    from models import db
    from models.support import Attachment, Ticket

    with app.app_context():
        ticket = db.session.query(Ticket).filter_by(number=number).one()
        return [(a.id, a.original_name, a.stored_name, a.content_type, a.size, a.message_id)
                for a in db.session.query(Attachment).filter_by(ticket_id=ticket.id).order_by(Attachment.id)]


def assert_nothing_written(app, before):
    assert counts(app) == before
    assert stored_files(app) == []


# --- what is accepted ------------------------------------------------------------------------------

def test_every_allowed_kind_is_accepted_with_its_content_type_and_stored_byte_for_byte(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    files = [("captura.png", PNG), ("foto.jpg", JPG), ("foto2.jpeg", JPG), ("animacion.gif", GIF),
             ("informe.pdf", PDF), ("viejo.doc", OLE2), ("hoja.xls", OLE2), ("carta.docx", DOCX),
             ("cuadro.xlsx", XLSX)]
    number = number_of(post_ticket(client, portal_app, files))

    rows = attachments_of(portal_app, number)
    assert [(name, content_type, size) for _, name, _, content_type, size, _ in rows] == [
        ("captura.png", "image/png", len(PNG)),
        ("foto.jpg", "image/jpeg", len(JPG)),
        ("foto2.jpeg", "image/jpeg", len(JPG)),
        ("animacion.gif", "image/gif", len(GIF)),
        ("informe.pdf", "application/pdf", len(PDF)),
        ("viejo.doc", "application/msword", len(OLE2)),
        ("hoja.xls", "application/vnd.ms-excel", len(OLE2)),
        ("carta.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", len(DOCX)),
        ("cuadro.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", len(XLSX)),
    ]
    directory = Path(portal_app.config["ATTACHMENT_DIR"])
    for (_, _, stored_name, _, _, _), (_, content) in zip(rows, files):
        assert (directory / stored_name).read_bytes() == content
    assert len(stored_files(portal_app)) == len(files)


def test_extension_is_judged_lower_cased_on_the_final_extension(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, [("CAPTURA.PNG", PNG), ("Informe.Pdf", PDF)]))
    assert [(r[1], r[3]) for r in attachments_of(portal_app, number)] == [
        ("CAPTURA.PNG", "image/png"), ("Informe.Pdf", "application/pdf")]

    before = counts(portal_app)
    refused = post_ticket(client, portal_app, [("a.png.exe", EXE)])
    assert refused.status_code == 400
    assert flash_errors(refused.get_data(as_text=True)) == [
        "a.png.exe: this type of file is not allowed. Allowed: .jpg, .gif, .jpeg, .png, .pdf, .doc, .docx, "
        ".xls, .xlsx."]
    assert counts(portal_app) == before


@pytest.mark.parametrize("name", ["programa.exe", "script.html", "sin-extension", "a.svg", ".png", "png"])
def test_names_without_an_allowed_final_extension_are_refused(portal_app, make_user, name):
    client, _, _ = client_session(portal_app, make_user)
    before = counts(portal_app)
    response = post_ticket(client, portal_app, [(name, PNG)])
    assert response.status_code == 400
    errors = flash_errors(response.get_data(as_text=True))
    assert len(errors) == 1 and "this type of file is not allowed" in errors[0]
    assert_nothing_written(portal_app, before)


@pytest.mark.parametrize("name,content", [
    ("a.exe.png", EXE),                 # an executable renamed to .png
    ("informe.pdf", PNG),               # a PNG calling itself a PDF
    ("carta.docx", PLAIN_ZIP),          # a zip archive without word/document.xml
    ("cuadro.xlsx", DOCX),              # a Word document calling itself a workbook
    ("carta.docx", b"PK\x03\x04 not really a zip"),
    ("foto.jpg", GIF),
    ("viejo.doc", PDF),
])
def test_content_is_sniffed_and_must_match_the_extension(portal_app, make_user, name, content):
    client, _, _ = client_session(portal_app, make_user)
    before = counts(portal_app)
    response = post_ticket(client, portal_app, [(name, content)])
    assert response.status_code == 400
    assert flash_errors(response.get_data(as_text=True)) == [f"{name} does not contain what its extension says."]
    assert_nothing_written(portal_app, before)


def test_an_empty_file_is_refused_by_name(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    before = counts(portal_app)
    response = post_ticket(client, portal_app, [("vacio.png", b"")])
    assert response.status_code == 400
    assert flash_errors(response.get_data(as_text=True)) == ["vacio.png is empty."]
    assert_nothing_written(portal_app, before)


# --- size ------------------------------------------------------------------------------------------

def test_size_limit_comes_from_the_setting_and_the_message_uses_the_same_unit(portal_app_factory, make_user):
    app = portal_app_factory(ATTACHMENT_MAX_MB=1)
    client, _, _ = client_session(app, make_user)
    form = client.get("/support/open/moodle").get_data(as_text=True)
    assert "Maximum size: 1 MB per file." in form

    exactly = PNG + b"\x00" * (MIB - len(PNG))
    assert len(exactly) == MIB
    number = number_of(post_ticket(client, app, [("exacto.png", exactly)]))
    assert [(r[1], r[4]) for r in attachments_of(app, number)] == [("exacto.png", MIB)]
    assert [p.stat().st_size for p in stored_files(app)] == [MIB]

    before = counts(app)
    response = post_ticket(client, app, [("pequeño.png", PNG), ("grande.png", exactly + b"\x00")],
                           subject="Adjunto grande", message="Va un archivo de más de un mega.")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert flash_errors(html) == ["grande.png is larger than 1 MB."]
    assert counts(app) == before
    assert [p.stat().st_size for p in stored_files(app)] == [MIB]  # only the first ticket's file
    assert 'value="Adjunto grande"' in html
    assert "Va un archivo de más de un mega.</textarea>" in html


def test_too_many_files_are_refused(portal_app_factory, make_user):
    app = portal_app_factory(ATTACHMENT_MAX_FILES=2)
    client, _, _ = client_session(app, make_user)
    before = counts(app)
    response = post_ticket(client, app, [("a.png", PNG), ("b.png", PNG), ("c.png", PNG)])
    assert response.status_code == 400
    assert flash_errors(response.get_data(as_text=True)) == ["You can attach at most 2 files."]
    assert_nothing_written(app, before)


# --- a refused file writes nothing ---------------------------------------------------------------------

def test_one_refused_file_among_good_ones_writes_nothing_and_keeps_the_form(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    before = counts(portal_app)
    subject = "Factura rechazada por la DIAN"
    message = "Adjunto la captura y el PDF.\n\n**Urgente**"
    response = post_ticket(client, portal_app, [("captura.png", PNG), ("factura.pdf", PDF), ("virus.exe.pdf", EXE)],
                           slug="arrendasoft", subject=subject, message=message, key="formkey1")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert flash_errors(html) == ["virus.exe.pdf does not contain what its extension says."]
    assert_nothing_written(portal_app, before)
    # The form comes back as it was typed, with the same one-time key, ready to send again.
    assert f'value="{subject}"' in html
    assert ">Adjunto la captura y el PDF.\n\n**Urgente**</textarea>" in html
    assert 'name="submission_key" value="formkey1"' in html
    again = post_ticket(client, portal_app, [("captura.png", PNG), ("factura.pdf", PDF)], slug="arrendasoft",
                        subject=subject, message=message, key="formkey1")
    number = number_of(again)
    assert [r[1] for r in attachments_of(portal_app, number)] == ["captura.png", "factura.pdf"]
    assert len(stored_files(portal_app)) == 2


def test_a_refused_reply_writes_nothing_and_keeps_the_typed_reply(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, [("captura.png", PNG)]))
    before = counts(portal_app)
    response = client.post(f"/support/tickets/{number}/reply", data={
        "message": "Aquí va el archivo que pidieron", "submission_key": "reply1",
        "attachments": [(io.BytesIO(PDF), "bien.pdf"), (io.BytesIO(PNG), "mal.pdf")],
    }, content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert flash_errors(html) == ["mal.pdf does not contain what its extension says."]
    assert ">Aquí va el archivo que pidieron</textarea>" in html
    assert 'name="submission_key" value="reply1"' in html
    assert counts(portal_app) == before
    assert len(stored_files(portal_app)) == 1


def test_a_failure_after_the_files_were_saved_removes_them_and_every_row(portal_app, make_user, monkeypatch):
    """Something going wrong late (here: queueing the e-mail) rolls back everything and
    deletes the files already saved: no ticket without its message, no orphan file."""
    import models.notifications

    client, _, _ = client_session(portal_app, make_user)
    before = counts(portal_app)

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(models.notifications, "ticket_opened", broken)
    with pytest.raises(RuntimeError):
        post_ticket(client, portal_app, [("captura.png", PNG), ("informe.pdf", PDF)])
    assert_nothing_written(portal_app, before)


# --- where files live ----------------------------------------------------------------------------------

def test_files_are_stored_outside_static_under_random_names(portal_app, make_user):
    import config

    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, [("../../../static/evil.png", PNG), ("evil.png", PNG)]))
    rows = attachments_of(portal_app, number)
    assert [r[1] for r in rows] == ["evil.png", "evil.png"]  # no path kept from the client's name
    stored_names = [r[2] for r in rows]
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in stored_names)
    assert stored_names[0] != stored_names[1]
    directory = Path(portal_app.config["ATTACHMENT_DIR"]).resolve()
    assert [p.resolve() for p in stored_files(portal_app)] == sorted(directory / n for n in stored_names)
    static = Path(portal_app.static_folder).resolve()
    assert not (static / "evil.png").exists()
    assert not directory.is_relative_to(static)
    assert not Path(config.ATTACHMENT_DIR).resolve().is_relative_to(static)  # the default too
    for name in stored_names:  # never reachable as a static file
        assert client.get(f"/static/{name}").status_code == 404


# --- downloads -----------------------------------------------------------------------------------------

def test_download_is_an_attachment_with_nosniff_type_and_accented_name(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, [("informe señal ñ.pdf", PDF), ("foto.PNG", PNG)]))
    (pdf_id, pdf_name, *_), (png_id, *_) = attachments_of(portal_app, number)
    assert pdf_name == "informe señal ñ.pdf"

    thread = client.get(f"/support/tickets/{number}").get_data(as_text=True)
    assert f'href="/attachments/{pdf_id}">informe señal ñ.pdf</a>' in thread

    response = client.get(f"/attachments/{pdf_id}")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''informe%20se%C3%B1al%20%C3%B1.pdf" in disposition
    assert parse_options_header(disposition) == ("attachment", {"filename": "informe señal ñ.pdf"})

    image = client.get(f"/attachments/{png_id}")
    assert image.data == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert parse_options_header(image.headers["Content-Disposition"]) == ("attachment", {"filename": "foto.PNG"})


def test_a_decomposed_accented_name_is_kept_composed(portal_app, make_user):
    import unicodedata

    client, _, _ = client_session(portal_app, make_user)
    decomposed = unicodedata.normalize("NFD", "señal.pdf")
    number = number_of(post_ticket(client, portal_app, [(decomposed, PDF)]))
    assert [r[1] for r in attachments_of(portal_app, number)] == ["señal.pdf"]


def test_another_clients_attachment_answers_404(portal_app, make_user):
    owner, _, _ = client_session(portal_app, make_user, email="uno@empresa.test")
    number = number_of(post_ticket(owner, portal_app, [("informe.pdf", PDF)]))
    (attachment_id, *_), = attachments_of(portal_app, number)

    other, _, _ = client_session(portal_app, make_user, email="otro@competencia.test")
    assert other.get(f"/attachments/{attachment_id}").status_code == 404
    assert other.get(f"/attachments/{attachment_id + 1000}").status_code == 404
    assert owner.get(f"/attachments/{attachment_id}").status_code == 200
    anonymous = portal_app.test_client().get(f"/attachments/{attachment_id}")
    assert anonymous.status_code in (302, 401, 403) and anonymous.data != PDF


def test_a_contact_without_the_tickets_scope_gets_403(portal_app, make_user):
    owner, _, client_id = client_session(portal_app, make_user, email="dueno@empresa.test")
    number = number_of(post_ticket(owner, portal_app, [("informe.pdf", PDF)]))
    (attachment_id, *_), = attachments_of(portal_app, number)
    accountant, _, _ = client_session(portal_app, make_user, email="contador@empresa.test", client=client_id,
                                      scopes="invoices", owner=False)
    assert accountant.get(f"/attachments/{attachment_id}").status_code == 403
    with_scope, _, _ = client_session(portal_app, make_user, email="sistemas@empresa.test", client=client_id,
                                      scopes="tickets", owner=False)
    assert with_scope.get(f"/attachments/{attachment_id}").data == PDF


def test_an_internal_note_attachment_is_hidden_from_the_client_not_from_staff(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, [("captura.png", PNG)], slug="moodle"))
    staff_id, _ = make_user("agente@moodle.test", "clave-agente-1", "Staff")
    _join_department(portal_app, staff_id, "moodle")
    staff = portal_app.test_client()
    login(staff, "agente@moodle.test", "clave-agente-1")
    note = staff.post(f"/staff/ticket/{number}/reply", data={
        "message": "Log del servidor adjunto", "internal": "1", "submission_key": "note1",
        "attachments": [(io.BytesIO(PDF), "log-interno.pdf")]}, content_type="multipart/form-data")
    assert note.status_code == 302
    rows = attachments_of(portal_app, number)
    assert [r[1] for r in rows] == ["captura.png", "log-interno.pdf"]
    note_attachment_id = rows[1][0]

    assert client.get(f"/attachments/{note_attachment_id}").status_code == 404
    assert "log-interno.pdf" not in client.get(f"/support/tickets/{number}").get_data(as_text=True)
    assert staff.get(f"/attachments/{note_attachment_id}").data == PDF
    assert staff.get(f"/attachments/{rows[0][0]}").data == PNG

    # Staff of another department see neither.
    other_id, _ = make_user("agente@web.test", "clave-agente-2", "Staff")
    _join_department(portal_app, other_id, "web")
    other = portal_app.test_client()
    login(other, "agente@web.test", "clave-agente-2")
    assert other.get(f"/attachments/{rows[0][0]}").status_code == 404
    assert other.get(f"/attachments/{note_attachment_id}").status_code == 404


def test_a_missing_file_on_disk_answers_404(portal_app, make_user):
    client, _, _ = client_session(portal_app, make_user)
    number = number_of(post_ticket(client, portal_app, [("informe.pdf", PDF)]))
    (attachment_id, _, stored_name, *_), = attachments_of(portal_app, number)
    (Path(portal_app.config["ATTACHMENT_DIR"]) / stored_name).unlink()
    assert client.get(f"/attachments/{attachment_id}").status_code == 404


def _join_department(app, user_id, slug):
    from models import db
    from models.support import StaffDepartment

    with app.app_context():
        db.session.add(StaffDepartment(user_id=user_id, department_id=department_id(app, slug)))
        db.session.commit()


def test_a_request_over_the_total_limit_gets_a_translated_page(portal_app_factory, make_user):
    import io

    from plugins.testing import login

    app = portal_app_factory(ATTACHMENT_MAX_MB=1, ATTACHMENT_MAX_FILES=1)  # 2 MB in all per request
    make_user("big@test.test", "big-pass-1")
    client = app.test_client()
    login(client, "big@test.test", "big-pass-1")
    client.get("/language/en")
    response = client.post("/support/open/moodle", data={
        "subject": "x", "message": "y", "attachments": [(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 3 * 1024 * 1024),
                                                         "big.png")]}, content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Each file can have at most 1 MB, and a message at most 1 file." in page
