"""Notifications waiting to be delivered.

A domain operation adds OutboxMessage rows in the same transaction as the event, so a
reply is never saved without its e-mail nor an e-mail sent for a reply that was rolled
back. Delivery (plugins/delivery.py) retries with exponential backoff.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.timeutil import utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"


class OutboxMessage(Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(50), nullable=False)
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(250), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # What caused it (e.g. "ticket.replied:412"), for people reading the outbox.
    event: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(10), default=PENDING, nullable=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)


def deliver_due(session, channels: dict, *, max_attempts: int, backoff_seconds: int, limit: int = 100) -> int:
    """Send the pending messages whose time has come; return how many were sent.

    Rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED (on PostgreSQL), so several
    workers never send the same message. A failure is recorded and retried after a delay
    that doubles each time; after ``max_attempts`` the message is marked failed.
    """
    from sqlalchemy import select

    now = utcnow()
    due = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for message in due:
        message.attempts += 1
        channel = channels.get(message.channel)
        try:
            if channel is None:
                raise LookupError(f"no notification channel named {message.channel!r}")
            channel.send(message)
        except Exception as exc:  # any failure of a channel is retried, never lost
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= max_attempts:
                message.status = FAILED
            else:
                message.next_attempt_at = utcnow() + dt.timedelta(
                    seconds=backoff_seconds * 2 ** (message.attempts - 1))
        else:
            message.status = SENT
            message.sent_at = utcnow()
            message.last_error = ""
            sent += 1
    session.commit()
    return sent
