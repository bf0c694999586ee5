"""The main flow in a real browser (Debian's headless Chromium, driven by Playwright), in
Spanish and in English. Screenshots go to PORTAL_SCREENSHOT_DIR when it is set."""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from plugins.testing import free_port

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256


@pytest.fixture
def live_portal(portal_app_factory, smtp_server):
    port = free_port()
    app = portal_app_factory(SERVER_NAME=None, BASE_URL=f"http://127.0.0.1:{port}")
    from demo import load_demo

    with app.app_context():
        load_demo()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    def __init__(self, page, lang, directory):
        self.page, self.lang, self.directory = page, lang, directory

    def __call__(self, name):
        if self.directory:
            self.page.screenshot(path=str(Path(self.directory) / f"{self.lang}-{name}.png"), full_page=True)


def log_out(page):
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/login/.*"))


def log_in(page, base, email, password):
    page.goto(f"{base}/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.mark.parametrize("lang, texts", [
    ("es", {"login": "Ingresar", "remember": "Recordar Datos de Usuario", "open": "Abrir Ticket",
            "showing": "Viendo 1 a 10 de 64 entradas", "status": "Respondido", "add_more": "Añadir más"}),
    ("en", {"login": "Log in", "remember": "Remember me", "open": "Open ticket",
            "showing": "Showing 1 to 10 of 64 entries", "status": "Answered", "add_more": "Add more"}),
])
def test_client_and_staff_walk_the_ticket_flow(live_portal, browser, smtp_server, tmp_path, lang, texts):
    shots_dir = os.environ.get("PORTAL_SCREENSHOT_DIR")
    if shots_dir:
        Path(shots_dir).mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shot = Shots(page, lang, shots_dir)
    page.goto(f"{live_portal}/language/{lang}")
    page.goto(f"{live_portal}/login/")
    assert page.locator("h1").inner_text() == texts["login"]
    assert texts["remember"] in page.content()
    shot("login")

    log_in(page, live_portal, "cliente@demo.test", "cliente")
    page.wait_for_url(re.compile(r".*/clientarea/$"))
    shot("dashboard")
    assert page.locator("#tile-tickets .count").inner_text().strip().isdigit()
    page.click("#open-ticket")
    page.wait_for_url(re.compile(r".*/support/open/$"))
    assert texts["open"] in page.content()
    shot("departments")
    page.click("#department-moodle")
    page.wait_for_url(re.compile(r".*/support/open/moodle$"))
    assert texts["add_more"] in page.content()
    page.fill("#subject", "Los certificados salen en blanco <b>urgente</b>")
    page.fill("#message", "Desde ayer los **certificados** salen en blanco.\n\n<script>alert(1)</script>")
    page.select_option("#priority", "high")
    attachment = tmp_path / "captura señal.png"
    attachment.write_bytes(PNG)
    page.set_input_files("input[name=attachments]", str(attachment))
    shot("new-ticket")
    page.click("#send")
    page.wait_for_url(re.compile(r".*/support/tickets/\d{6}$"))
    number = page.url.rsplit("/", 1)[-1]
    heading = page.locator("h1").inner_text()
    assert heading == f"#{number} Los certificados salen en blanco <b>urgente</b>"  # shown as text, not HTML
    assert page.locator(".ticket-message .body strong").first.inner_text() == "certificados"
    assert page.locator("script:has-text('alert(1)')").count() == 0
    assert page.locator("a:has-text('captura señal.png')").count() == 1
    shot("ticket")
    page.goto(f"{live_portal}/support/tickets/")
    assert page.locator("#showing").inner_text() == texts["showing"]
    shot("tickets")
    log_out(page)

    log_in(page, live_portal, "moodle@demo.test", "agente")
    page.goto(f"{live_portal}/staff/ticket/{number}")
    page.fill("#message", "Ya lo corregimos: vuelva a generar los certificados.")
    page.click("#send")
    page.wait_for_url(re.compile(rf".*/staff/ticket/{number}$"))
    shot("staff-ticket")
    log_out(page)

    log_in(page, live_portal, "cliente@demo.test", "cliente")
    page.goto(f"{live_portal}/support/tickets/{number}")
    assert "Ya lo corregimos" in page.content()
    assert texts["status"] in page.locator("h1 + p").inner_text()
    assert any(number in message["Subject"] for message in smtp_server.sink.to("cliente@demo.test"))
    page.close()


@pytest.mark.parametrize("lang, texts", [
    ("es", {"add": "Agregar contacto", "invited": "Se invitó a", "e_mail_only": "Solo correo",
            "can_log_in": "Puede ingresar", "billing": "Avisos de cobro"}),
    ("en", {"add": "Add contact", "invited": "was invited by e-mail", "e_mail_only": "E-mail only",
            "can_log_in": "Can log in", "billing": "Billing notices"}),
])
def test_owner_invites_an_accountant_who_sees_only_billing(live_portal, browser, smtp_server, lang, texts):
    shots_dir = os.environ.get("PORTAL_SCREENSHOT_DIR")
    owner = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    shot = Shots(owner, f"{lang}-contacts", shots_dir)
    owner.goto(f"{live_portal}/language/{lang}")
    log_in(owner, live_portal, "cliente@demo.test", "cliente")
    owner.wait_for_url(re.compile(r".*/clientarea/$"))
    owner.click("#user-menu")
    owner.click("#contacts-link")
    owner.wait_for_url(re.compile(r".*/clientarea/contacts/$"))
    owner.click("#add-contact")
    assert texts["add"] in owner.locator("h1").inner_text()
    owner.fill("input[name=name]", "Lucía Tesorera")
    owner.fill("input[name=email]", f"lucia.{lang}@losandes.test")
    owner.fill("input[name=position]", "Tesorera")
    owner.check("input[name=scopes][value=invoices]")
    owner.check("input[name=scopes][value=pay]")
    owner.check("input[name=invite]")
    shot("form")
    owner.click("#contact-form button[type=submit]")
    owner.wait_for_url(re.compile(r".*/clientarea/contacts/$"))
    assert texts["invited"] in owner.content()
    row = owner.locator("tr", has_text=f"lucia.{lang}@losandes.test")
    assert texts["e_mail_only"] in row.inner_text()
    shot("list")

    mail = smtp_server.sink.to(f"lucia.{lang}@losandes.test")[-1]
    link = re.search(r"https?://\S+/invitation/\S+", mail.get_content()).group(0)
    invited = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    invited.goto(f"{live_portal}/language/{lang}")
    invited.goto(link)
    invited.fill("input[name=first_name]", "Lucía")
    invited.fill("input[name=last_name]", "Tesorera")
    invited.fill("input[name=password]", "tesoreria-2026")
    invited.fill("input[name=confirm]", "tesoreria-2026")
    Shots(invited, f"{lang}-contacts", shots_dir)("invitation")
    invited.click("#invitation-form button[type=submit]")
    invited.wait_for_url(re.compile(r".*/clientarea/.*"))
    menu = invited.locator(".navbar-nav").first.inner_text()
    assert texts["billing"] in menu and "Ticket" not in menu
    assert invited.goto(f"{live_portal}/support/tickets/").status == 403
    Shots(invited, f"{lang}-contacts", shots_dir)("accountant-home")

    owner.reload()
    assert texts["can_log_in"] in owner.locator("tr", has_text=f"lucia.{lang}@losandes.test").inner_text()
    # The owner disables her: her open session loses the account at its next request.
    owner.locator("tr", has_text=f"lucia.{lang}@losandes.test").locator("form[action$='/disable'] button").click()
    owner.wait_for_url(re.compile(r".*/clientarea/contacts/$"))
    assert invited.goto(f"{live_portal}/clientarea/invoices/list/").status == 403
