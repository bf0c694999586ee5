"""Plugin events fire after the database commit, never for work that was rolled back.

Operations call ``queue()`` while they work and ``commit()`` at the end. Each hook
implementation is called on its own, so one failing plugin neither stops the others (pluggy
would stop the chain at the first exception) nor undoes the committed work.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "portal_events"


def queue(session, hook_name: str, **kwargs) -> None:
    session.info.setdefault(_KEY, []).append((hook_name, kwargs))


@event.listens_for(Session, "after_rollback")
def _forget_events(session) -> None:
    session.info.pop(_KEY, None)


def commit(session) -> None:
    """Commit the unit of work, then fire its plugin events and (in the embedded default)
    deliver the outbox. Nothing after the commit can undo it or make the caller fail: a
    plugin's or a channel's error is logged, and undelivered messages wait for a retry."""
    session.commit()
    pending = session.info.pop(_KEY, [])
    portal = current_app.extensions["portal"]
    for hook_name, kwargs in pending:
        call_each(portal.plugins, hook_name, **kwargs)
    if current_app.config["OUTBOX_DELIVER_AFTER_COMMIT"]:
        try:
            portal.deliver_outbox()
        except Exception:  # the work is committed; the outbox keeps the messages for a retry
            log.exception("delivering the outbox after a commit failed")
            session.rollback()


def call_each(plugin_manager, hook_name: str, **kwargs) -> None:
    """Call every implementation of an event hook, isolating failures."""
    for impl in reversed(getattr(plugin_manager.hook, hook_name).get_hookimpls()):
        try:
            impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception:
            log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)
