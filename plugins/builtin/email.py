"""The e-mail notification channel: SMTP, settings from the SMTP_* configuration."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from plugins.hookspecs import hookimpl


class EmailChannel:
    name = "email"

    def send(self, message) -> None:
        config = current_app.config
        mail = EmailMessage()
        mail["From"] = config["MAIL_FROM"]
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        # The same id on every retry lets a mail system drop a copy it already accepted.
        mail["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain="portal")
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body_text)
        if message.body_html:
            mail.add_alternative(message.body_html, subtype="html")
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(mail)


@hookimpl
def portal_register_notification_channels():
    return [EmailChannel()]
