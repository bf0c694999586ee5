"""Who sees which rows: written once, used by every page, download and API.

A client user acts within one membership (models.accounts.Contact) of one client account
at a time; a row of another account answers 404 and a missing scope 403. Staff see the
tickets of their departments; administrators see everything.
"""
from __future__ import annotations

from flask import abort, g, session
from flask_login import current_user
from sqlalchemy import select

from models import db
from models.accounts import Contact, memberships_of
from models.support import StaffDepartment, Ticket

ADMIN, STAFF, CLIENT = "Admin", "Staff", "Client"
NO_ROWS = -1  # an id no row has: base filters built on it match nothing


def has_role(user, name: str) -> bool:
    return bool(user and user.is_authenticated and any(role.name == name for role in user.roles))


def is_admin(user=None) -> bool:
    return has_role(user or current_user, ADMIN)


def is_staff(user=None) -> bool:
    user = user or current_user
    return has_role(user, STAFF) or has_role(user, ADMIN)


def current_membership() -> Contact | None:
    """The membership the signed-in user is acting in, checked again on every request."""
    if "portal_membership" not in g:
        membership = None
        if current_user.is_authenticated:
            memberships = memberships_of(db.session, current_user.id)
            chosen = session.get("client_id")
            membership = next((m for m in memberships if m.client_id == chosen), None) or (
                memberships[0] if memberships else None)
        g.portal_membership = membership
    return g.portal_membership


def require_scope(scope: str) -> Contact:
    membership = current_membership()
    if membership is None or not membership.has_scope(scope):
        abort(403)
    return membership


def current_client_id() -> int:
    membership = current_membership()
    return membership.client_id if membership else NO_ROWS


def staff_department_ids(user=None) -> list[int]:
    """The departments whose tickets this staff member sees (all of them for an admin)."""
    from models.support import Department

    user = user or current_user
    if not user.is_authenticated:
        return [NO_ROWS]
    if is_admin(user):
        return list(db.session.scalars(select(Department.id))) or [NO_ROWS]
    ids = list(db.session.scalars(select(StaffDepartment.department_id).where(StaffDepartment.user_id == user.id)))
    return ids or [NO_ROWS]


def visible_tickets():
    """A select of the tickets the current user may see (before any other filter).

    The scope is not checked here (a view answers 403 for it with require_scope); a
    membership without the tickets scope simply sees no rows."""
    query = select(Ticket)
    if is_staff():
        return query.where(Ticket.department_id.in_(staff_department_ids()))
    membership = current_membership()
    if membership is None or not membership.has_scope("tickets"):
        return query.where(Ticket.id == NO_ROWS)
    return query.where(Ticket.client_id == membership.client_id)


def client_rows_filter(model, scope: str):
    """The condition on ``model`` (a table with client_id) for the current user's rows."""
    if is_staff():
        return model.id.is_not(None)
    membership = current_membership()
    if membership is None or not membership.has_scope(scope):
        return model.id == NO_ROWS
    return model.client_id == membership.client_id


def get_visible_ticket(number: str) -> Ticket:
    ticket = db.session.scalar(visible_tickets().where(Ticket.number == number))
    if ticket is None:
        abort(404)
    return ticket


def has_client_scope(scope: str) -> bool:
    """Whether the signed-in client user's current membership has ``scope`` (never for staff
    and administrators, who have their own menus)."""
    if not current_user.is_authenticated or is_staff():
        return False
    membership = current_membership()
    return membership is not None and membership.has_scope(scope)


def client_menu(scope: str):
    """A menu condition: shown to client users whose membership has ``scope``."""
    return lambda: has_client_scope(scope)
