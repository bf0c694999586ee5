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
