"""`flask portal ...`: demo data, the outbox worker, re-sync and the first administrator."""
from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

log = logging.getLogger(__name__)

portal_cli = AppGroup("portal", help="Portal tasks: demo data, outbox worker, re-sync, administrators.")


def _require_schema() -> None:
    from app import schema_is_current

    if not schema_is_current():
        raise click.ClickException("the database is not migrated yet; run `flask db upgrade` first")


@portal_cli.command("demo")
def demo_command():
    """Load the demo data (the reference case). Safe to run again: it creates only what is missing."""
    import demo

    _require_schema()
    created = demo.load_demo()
    if created:
        for what, count in created.items():
            click.echo(f"created {count} {what}")
    else:
        click.echo("the demo data was already loaded; nothing changed")
    click.echo("\nDemo logins (e-mail / password):")
    for email, password, role in demo.DEMO_LOGINS:
        click.echo(f"  {email:<24} {password:<8} {role}")


PASS_LIMIT = 100


@portal_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due once and exit.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait between passes.")
def worker_command(once: bool, interval: float):
    """Deliver the outbox (e-mails and other notifications), in a loop until stopped.

    Ctrl-C or SIGTERM lets the current pass finish (so no message is sent twice) and exits.
    """
    from models import db

    _require_schema()
    portal = current_app.extensions["portal"]

    def deliver_all() -> int:
        # A pass sends at most PASS_LIMIT messages; a full pass means more may be waiting.
        total = 0
        while True:
            sent = portal.deliver_outbox(limit=PASS_LIMIT)
            total += sent
            if sent < PASS_LIMIT:
                return total

    if once:
        click.echo(f"sent {deliver_all()}")
        return

    stop = threading.Event()

    def request_stop(signum, _frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C does not wait for the pass to end
        click.echo("stopping after this pass", err=True)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"delivering the outbox every {interval:g} s; Ctrl-C or SIGTERM stops")
    try:
        while not stop.is_set():
            try:
                sent = deliver_all()
            except Exception:  # a database hiccup must not end the worker
                log.exception("outbox pass failed")
                db.session.rollback()
            else:
                if sent:
                    log.info("sent %s outbox messages", sent)
            finally:
                db.session.remove()
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("worker stopped")


@portal_cli.command("sync")
def sync_command():
    """Re-sync the roles and permissions, and create the departments plugins add."""
    from views.departments import sync_plugin_departments
    from views.roles import sync_roles

    _require_schema()
    sync_roles(current_app.appbuilder)
    created = sync_plugin_departments()
    click.echo(f"roles synced; {created} new departments")


@portal_cli.command("create-admin")
@click.option("--email", required=True, prompt=True, help="E-mail address; the lower-cased address is the user name.")
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--first-name", required=True, prompt=True)
@click.option("--last-name", required=True, prompt=True)
def create_admin_command(email: str, password: str, first_name: str, last_name: str):
    """Create an administrator, unless a user with that e-mail address exists."""
    import demo

    _require_schema()
    user, created = demo.create_admin(email, password, first_name, last_name)
    if created:
        click.echo(f"administrator {user.username} created")
    else:
        click.echo(f"user {user.username} already exists; nothing changed")
