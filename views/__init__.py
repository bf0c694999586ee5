"""Every view, API and menu entry is registered here, in one place."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def register_views(appbuilder) -> None:
    from views.admin import ClientsView, ContactsView, DepartmentsView
    from views.access import client_menu
    from views.api import DepartmentApi, DomainApi, ServiceApi, TicketApi
    from views.auth import AccountView, LanguageView
    from views.catalog import DomainsView, MyDomainsView, MyInvoicesView, MyServicesView, ServicesView
    from views.contacts import AccountSwitchView, ClientContactsView, ContactInvitationView
    from views.home import ClientHomeView
    from views.staff import StaffTicketsView, StaffTicketView
    from views.tickets import AttachmentView, ClientTicketsView

    add = appbuilder.add_view
    appbuilder.add_view_no_menu(ClientHomeView)
    appbuilder.add_view_no_menu(AccountView)
    appbuilder.add_view_no_menu(LanguageView)
    appbuilder.add_view_no_menu(AttachmentView)
    appbuilder.add_view_no_menu(StaffTicketView)
    # Contacts (issue 3): linked from the user menu (shown with the contacts scope), which also
    # holds the account switcher; the invitation link is public (its signed token is the key).
    appbuilder.add_view_no_menu(ClientContactsView)
    appbuilder.add_view_no_menu(AccountSwitchView)
    appbuilder.add_view_no_menu(ContactInvitationView)

    # Clients: Support > Tickets, Open ticket; Services; Domains; Billing notices.
    tickets = appbuilder.add_view_no_menu(ClientTicketsView)
    # Each entry shows only to members whose scopes allow it (the views check it again).
    appbuilder.add_link("Tickets", href="/support/tickets/", label=_l("Tickets"), icon="fa-ticket",
                        category="Support", category_label=_l("Support"), baseview=tickets,
                        cond=client_menu("tickets"))
    appbuilder.add_link("Open ticket", href="/support/open/", label=_l("Open ticket"), icon="fa-plus",
                        category="Support", baseview=tickets, cond=client_menu("tickets"))
    add(MyServicesView, "My services", label=_l("Services"), icon="fa-cubes", menu_cond=client_menu("services"))
    add(MyDomainsView, "My domains", label=_l("Domains"), icon="fa-globe", menu_cond=client_menu("domains"))
    add(MyInvoicesView, "Invoices", label=_l("Billing notices"), icon="fa-file-text",
        menu_cond=client_menu("invoices"))

    # Staff and administrators.
    add(StaffTicketsView, "Ticket queue", label=_l("Ticket queue"), icon="fa-inbox", category="Support",
        category_label=_l("Support"))
    add(ClientsView, "Client companies", label=_l("Client companies"), icon="fa-building", category="Clients",
        category_label=_l("Clients"))
    add(ContactsView, "Contacts", label=_l("Contacts"), icon="fa-address-book", category="Clients")
    add(ServicesView, "All services", label=_l("All services"), icon="fa-cubes", category="Clients")
    add(DomainsView, "All domains", label=_l("All domains"), icon="fa-globe", category="Clients")
    add(DepartmentsView, "Departments", label=_l("Departments"), icon="fa-sitemap", category="Security")

    for api in (TicketApi, DepartmentApi, ServiceApi, DomainApi):
        appbuilder.add_api(api)

    # The Flask-Admin back-office console, linked from the administrators' menu.
    from flask import current_app

    from views.console import register_console

    register_console(current_app)
    appbuilder.add_link("Console", href="/console/", label=_l("Back-office console"), icon="fa-wrench",
                        category="Security")
