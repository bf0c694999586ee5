"""The e-mail notification channel: SMTP, settings from the SMTP_* configuration."""
from __future__ import annotations

import datetime as dt
import smtplib
import socket
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from models.outbox import ChannelUnavailable
from plugins.hookspecs import hookimpl

# Failures that say the server is not there (refused, unreachable, timed out, hung up),
# as opposed to the server refusing this one message.
_SERVER_DOWN = (ConnectionError, TimeoutError, socket.gaierror, smtplib.SMTPConnectError,
                smtplib.SMTPServerDisconnected)


def one_line(text: str) -> str:
    """A header value on one line: a subject typed with line breaks cannot break the header."""
    return " ".join((text or "").split())


def message_id(message) -> str:
    """The same Message-ID on every retry of one outbox message, so a mail system can drop a
    copy it already accepted (when the worker died before recording that it was sent)."""
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "portal"
    created = message.created_at.strftime("%Y%m%d%H%M%S%f") if message.created_at else "0"
    return f"<portal.outbox.{message.id}.{created}@{domain}>"


def build_mail(message) -> EmailMessage:
    config = current_app.config
    mail = EmailMessage()
    mail["From"] = config["MAIL_FROM"]
    mail["To"] = message.recipient
    mail["Subject"] = one_line(message.subject)
    mail["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    mail["Message-ID"] = message_id(message)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.body_text)
    if message.body_html:
        mail.add_alternative(message.body_html, subtype="html")
    return mail


class EmailChannel:
    name = "email"

    def send(self, message) -> None:
        config = current_app.config
        mail = build_mail(message)
        try:
            smtp = smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=config["SMTP_TIMEOUT"])
        except _SERVER_DOWN as exc:
            raise ChannelUnavailable(f"SMTP server {config['SMTP_HOST']}:{config['SMTP_PORT']} "
                                     f"unreachable: {type(exc).__name__}: {exc}") from exc
        try:
            with smtp:
                if config["SMTP_STARTTLS"]:
                    smtp.starttls()
                if config["SMTP_USER"]:
                    smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
                smtp.send_message(mail)
        except _SERVER_DOWN as exc:
            raise ChannelUnavailable(f"SMTP server {config['SMTP_HOST']}:{config['SMTP_PORT']} "
                                     f"went away: {type(exc).__name__}: {exc}") from exc


@hookimpl
def portal_register_notification_channels():
    return [EmailChannel()]
