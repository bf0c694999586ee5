"""Every hook a plugin may implement. Each one is documented in docs/plugins.md; a test
fails when one is not.
"""
from __future__ import annotations

import pluggy

PROJECT_NAME = "portal"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def portal_register_departments() -> list:
    """Return support departments (plugins.interfaces.DepartmentSpec) this plugin provides.

    At start-up each one is created in the database when its slug is missing; after that
    administrators own its texts, so an edit made in the admin pages is kept.
    """


@hookspec
def portal_register_notification_channels() -> list:
    """Return notification channels (plugins.interfaces.NotificationChannel): objects with a
    unique ``name`` and ``send(message)``, which delivers one outbox message or raises."""


@hookspec(firstresult=True)
def portal_route_ticket(subject: str, body: str, department_slug: str) -> str | None:
    """Return the slug of the department a new ticket should go to, or None to keep the
    one the client chose. The first plugin that answers wins."""


@hookspec
def portal_ticket_opened(ticket_id: int) -> None:
    """A ticket was opened (called after the commit)."""


@hookspec
def portal_ticket_replied(ticket_id: int, message_id: int) -> None:
    """A message (client reply, staff reply or internal note) was added (after the commit)."""


@hookspec
def portal_ticket_closed(ticket_id: int) -> None:
    """A ticket was closed (after the commit)."""


@hookspec
def portal_contact_invited(contact_id: int) -> None:
    """A contact was invited to log in (the invitation e-mail is in the outbox; after the commit)."""
