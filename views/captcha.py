"""reCAPTCHA v2, on when both RECAPTCHA_SITE_KEY and RECAPTCHA_SECRET_KEY are set."""
from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request

from flask import current_app, request

log = logging.getLogger(__name__)


def captcha_enabled() -> bool:
    return bool(current_app.config["RECAPTCHA_SITE_KEY"] and current_app.config["RECAPTCHA_SECRET_KEY"])


def verify_captcha() -> bool:
    """True when the captcha is off, or Google's service confirms the user's answer."""
    if not captcha_enabled():
        return True
    answer = request.form.get("g-recaptcha-response", "")
    if not answer:
        return False
    data = urllib.parse.urlencode({"secret": current_app.config["RECAPTCHA_SECRET_KEY"], "response": answer,
                                   "remoteip": request.remote_addr or ""}).encode()
    try:
        with urllib.request.urlopen(current_app.config["RECAPTCHA_VERIFY_URL"], data=data, timeout=10) as resp:
            return bool(json.load(resp).get("success"))
    except (OSError, ValueError):
        log.exception("reCAPTCHA verification failed")
        return False
