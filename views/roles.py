"""Role definitions, in code as data, re-synced at start-up.

Admin, Staff and Client are Flask-AppBuilder built-in roles (FAB_ROLES): their
permissions are these patterns (view name, permission name), checked in memory, so a new
view is reachable only by a role whose pattern names it. What a role may do on a view it
names is bounded by that view's ``base_permissions`` (a client's API allows only reads and
the ticket actions), and which rows it reaches by views/access.py. Roles an administrator creates
in the admin pages get permissions from the database as usual.
"""
from __future__ import annotations

CLIENT_VIEWS = (
    "ClientHomeView",
    "ClientTicketsView",
    "AttachmentView",
    "AccountView",
    "MyServicesView",
    "MyDomainsView",
    "MyInvoicesView",
    "TicketApi",
    "ServiceApi",
    "DomainApi",
    "DepartmentApi",
    "ClientContactsView",
    "AccountSwitchView",
)
STAFF_VIEWS = (
    "StaffTicketsView",
    "StaffTicketView",
    "AttachmentView",
    "AccountView",
    "TicketApi",
    "DepartmentApi",
)
# Staff may read these, not change them.
STAFF_READ_VIEWS = ("ClientsView", "ContactsView", "ServicesView", "DomainsView", "ServiceApi", "DomainApi")
CLIENT_MENUS = ("Support", "Tickets", "Open ticket", "My services", "My domains", "Invoices")
STAFF_MENUS = ("Support", "Ticket queue", "Clients", "Client companies", "Contacts", "All services",
               "All domains")


def _exactly(names) -> str:
    return "^(" + "|".join(names) + ")$"


ROLE_DEFINITIONS = {
    "Admin": [(".*", ".*")],
    "Staff": [
        (_exactly(STAFF_VIEWS), "^can_.*$"),
        (_exactly(STAFF_READ_VIEWS), "^can_(list|show|get|info)$"),
        (_exactly(STAFF_MENUS), "^menu_access$"),
    ],
    "Client": [
        (_exactly(CLIENT_VIEWS), "^can_.*$"),
        (_exactly(CLIENT_MENUS), "^menu_access$"),
    ],
}


def fab_roles() -> dict:
    return {name: [list(p) for p in patterns] for name, patterns in ROLE_DEFINITIONS.items()}


# (database, views and their permissions) already recorded by this process.
_recorded: set = set()


def sync_roles(appbuilder) -> None:
    """Make sure every defined role exists, and every view's permissions are recorded
    (so administrators can grant them to roles they create)."""
    sm = appbuilder.sm
    for name in ROLE_DEFINITIONS:
        if sm.find_role(name) is None:
            sm.add_role(name)
    if sm.find_role(sm.auth_role_public) is None:
        sm.add_role(sm.auth_role_public)
    # Recording permissions costs a few hundred queries; once per process and database is
    # enough, unless the set of views changed (an app built with other plugins).
    key = (str(appbuilder.session.get_bind().url), tuple(sorted(
        (view.class_permission_name, tuple(sorted(view.base_permissions or ()))) for view in appbuilder.baseviews)))
    if key not in _recorded:
        appbuilder.add_permissions(update_perms=True)
        _recorded.add(key)
