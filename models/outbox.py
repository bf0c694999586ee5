"""Notifications waiting to be delivered.

A domain operation adds OutboxMessage rows in the same transaction as the event, so a
reply is never saved without its e-mail nor an e-mail sent for a reply that was rolled
back. ``deliver_due`` (called by ``flask portal worker`` and, in the embedded default, right
after each commit) sends them, retrying failures with exponential backoff.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from models.timeutil import utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"
# A message being sent is claimed for this long: no other worker takes it meanwhile, and if
# the worker dies before recording the outcome, it becomes due again when the claim expires.
CLAIM_SECONDS = 600
# The longest wait between two attempts, however many attempts were made.
MAX_BACKOFF_SECONDS = 24 * 3600


class ChannelUnavailable(Exception):
    """Raised by a channel's ``send`` when the channel itself is down (the SMTP server does not
    answer), as opposed to this one message being refused. The message is retried like any
    failure, and the rest of the pass leaves that channel alone instead of waiting on it for
    every message."""


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


def retry_delay(backoff_seconds: int, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: backoff, 2 x backoff, 4 x backoff ..."""
    seconds = backoff_seconds * 2 ** min(max(attempts - 1, 0), 32)
    return dt.timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def _claim_next(session, skip_channels: set, claim_seconds: int):
    """Claim the oldest due message (committed), or return None when nothing is due.

    The row is read with SELECT ... FOR UPDATE SKIP LOCKED (on PostgreSQL), so concurrent
    workers pick different rows, and claimed with an UPDATE conditional on the attempt count
    read, so that even a database without row locks (SQLite) lets only one worker have it.
    The claim counts the attempt and moves ``next_attempt_at`` past the claim period; it is
    committed before anything is sent, so no lock is held while a channel talks to a server.
    Returns a detached copy of the message, or False when another worker claimed it first.
    """
    now = utcnow()
    query = select(OutboxMessage.id, OutboxMessage.attempts).where(
        OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
    if skip_channels:
        query = query.where(OutboxMessage.channel.not_in(skip_channels))
    row = session.execute(query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)
                          .with_for_update(skip_locked=True)).first()
    if row is None:
        session.rollback()
        return None
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.status == PENDING, OutboxMessage.attempts == row.attempts)
        .values(attempts=row.attempts + 1, next_attempt_at=now + dt.timedelta(seconds=claim_seconds))
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.commit()
    if not claimed:
        return False
    message = session.get(OutboxMessage, row.id, populate_existing=True)
    session.expunge(message)  # the channel gets a plain copy; no transaction stays open while it sends
    session.rollback()
    return message


def _record(session, message_id: int, **values) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()


def deliver_due(session, channels: dict, *, max_attempts: int, backoff_seconds: int, limit: int = 100,
                claim_seconds: int = CLAIM_SECONDS) -> int:
    """Send the pending messages whose time has come, each once; return how many were sent.

    Each message is claimed, sent and its outcome recorded in transactions of its own (see
    ``_claim_next``), so two workers never send the same message and a failure or a crash
    in the middle of a pass never re-sends the messages already sent. A failure is recorded
    (``last_error``) and retried after a delay that doubles each time (``retry_delay``);
    after ``max_attempts`` attempts the message is marked failed. When a channel reports
    itself unavailable, the rest of the pass skips that channel's messages.
    """
    sent = 0
    unavailable: set[str] = set()
    for _ in range(limit):
        message = _claim_next(session, unavailable, claim_seconds)
        if message is None:
            break
        if message is False:
            continue
        channel = channels.get(message.channel)
        try:
            if channel is None:
                raise LookupError(f"no notification channel named {message.channel!r}")
            channel.send(message)
        except Exception as exc:  # any failure of a channel is retried, never lost
            if isinstance(exc, ChannelUnavailable):
                unavailable.add(message.channel)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= max_attempts:
                _record(session, message.id, status=FAILED, last_error=error)
            else:
                _record(session, message.id, last_error=error,
                        next_attempt_at=utcnow() + retry_delay(backoff_seconds, message.attempts))
        else:
            _record(session, message.id, status=SENT, sent_at=utcnow(), last_error="")
            sent += 1
    return sent
