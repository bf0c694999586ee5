"""reCAPTCHA v2 on the ticket form and sign-up, when its keys are set.

Google's verification service cannot be reached from here, so a small HTTP server on
loopback answers its protocol (POST secret, response, remoteip; JSON {"success": ...}); the
portal talks to it over real HTTP exactly as it would to Google."""
from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from models import db
from models.support import Department, Ticket
from plugins.testing import login

SECRET = "test-secret-key"
GOOD_ANSWER = "answer-from-a-human"


class SiteVerify(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        SiteVerify.received.append(form)
        success = form.get("secret") == [SECRET] and form.get("response") == [GOOD_ANSWER]
        body = json.dumps({"success": success}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def captcha_app(portal_app_factory):
    server = HTTPServer(("127.0.0.1", 0), SiteVerify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SiteVerify.received = []
    yield portal_app_factory(RECAPTCHA_SITE_KEY="site-key-123", RECAPTCHA_SECRET_KEY=SECRET,
                             RECAPTCHA_VERIFY_URL=f"http://127.0.0.1:{server.server_port}/siteverify")
    server.shutdown()


def _ticket_form(app, answer=None):
    with app.app_context():
        moodle = db.session.query(Department).filter_by(slug="moodle").one().id
    data = {"department_id": moodle, "subject": "Curso", "message": "No abre", "priority": "medium"}
    if answer is not None:
        data["g-recaptcha-response"] = answer
    return data


def test_the_ticket_form_needs_a_solved_captcha(captcha_app, make_user):
    make_user("human@test.test", "human-pass")
    client = captcha_app.test_client()
    login(client, "human@test.test", "human-pass")
    client.get("/language/en")
    form = client.get("/support/open/moodle").get_data(as_text=True)
    assert 'class="g-recaptcha" data-sitekey="site-key-123"' in form
    assert "recaptcha/api.js?hl=en" in form

    for answer in (None, "a-robot-guess"):
        response = client.post("/support/open/moodle", data=_ticket_form(captcha_app, answer))
        assert response.status_code == 400
        assert "Confirm that you are not a robot." in response.get_data(as_text=True)
    with captcha_app.app_context():
        assert db.session.query(Ticket).count() == 0

    response = client.post("/support/open/moodle", data=_ticket_form(captcha_app, GOOD_ANSWER))
    assert response.status_code == 302
    with captcha_app.app_context():
        assert db.session.query(Ticket).count() == 1
    # The portal sent its secret and the user's answer; no answer means no call at all.
    assert [(r["secret"], r["response"]) for r in SiteVerify.received] == [
        ([SECRET], ["a-robot-guess"]), ([SECRET], [GOOD_ANSWER])]


def test_sign_up_needs_a_solved_captcha(captcha_app):
    from flask_appbuilder.security.sqla.models import User

    client = captcha_app.test_client()
    client.get("/language/en")
    data = {"company_name": "Robots S.A.S.", "first_name": "R", "last_name": "B", "email": "robot@test.test",
            "password": "long-enough-1", "confirm": "long-enough-1"}
    page = client.post("/signup/", data=data).get_data(as_text=True)
    assert "Confirm that you are not a robot." in page
    with captcha_app.app_context():
        assert db.session.query(User).filter_by(email="robot@test.test").count() == 0
    client.post("/signup/", data={**data, "g-recaptcha-response": GOOD_ANSWER})
    with captcha_app.app_context():
        assert db.session.query(User).filter_by(email="robot@test.test").count() == 1


def test_an_unreachable_verification_service_refuses_rather_than_lets_through(portal_app_factory, make_user):
    from plugins.testing import free_port

    app = portal_app_factory(RECAPTCHA_SITE_KEY="k", RECAPTCHA_SECRET_KEY=SECRET,
                             RECAPTCHA_VERIFY_URL=f"http://127.0.0.1:{free_port()}/siteverify")
    make_user("human@test.test", "human-pass")
    client = app.test_client()
    login(client, "human@test.test", "human-pass")
    response = client.post("/support/open/moodle", data=_ticket_form(app, GOOD_ANSWER))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(Ticket).count() == 0
