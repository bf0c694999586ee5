"""Generated views of what clients have: their own services, domains and invoices for
clients; everyone's, for staff and administrators."""
from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models.billing import INVOICE_STATUS_LABELS, Invoice
from models.catalog import (
    BILLING_CYCLE_LABELS,
    DOMAIN_STATUS_LABELS,
    SERVICE_STATUS_LABELS,
    Domain,
    Service,
)
from views.access import current_client_id, require_scope
from views.datamodel import PortalInterface
from views.formatting import label_of, local_date, local_datetime, yes_no

SERVICE_LABELS = {
    "name": _l("Service"), "client": _l("Client"), "status": _l("Status"), "billing_cycle": _l("Billing cycle"),
    "amount": _l("Amount"), "currency": _l("Currency"), "next_due_date": _l("Next due date"),
    "department_slug": _l("Department"), "created_at": _l("Created"),
}
DOMAIN_LABELS = {
    "name": _l("Domain"), "client": _l("Client"), "status": _l("Status"), "registered_on": _l("Registered on"),
    "expires_on": _l("Expires on"), "auto_renew": _l("Auto-renew"),
}
INVOICE_LABELS = {
    "number": _l("Number"), "status": _l("Status"), "issued_on": _l("Issued on"), "due_on": _l("Due on"),
    "total": _l("Total"), "currency": _l("Currency"), "client": _l("Client"), "lines": _l("Lines"),
}
# Stored codes and values shown the way people read them, in their language.
SERVICE_FORMATTERS = {"status": label_of(SERVICE_STATUS_LABELS), "billing_cycle": label_of(BILLING_CYCLE_LABELS),
                      "next_due_date": local_date, "created_at": local_datetime}
DOMAIN_FORMATTERS = {"status": label_of(DOMAIN_STATUS_LABELS), "registered_on": local_date,
                     "expires_on": local_date, "auto_renew": yes_no}
INVOICE_FORMATTERS = {"status": label_of(INVOICE_STATUS_LABELS), "issued_on": local_date, "due_on": local_date}


class ClientScopedView(ModelView):
    """A read-only generated view of the current account's rows, behind one scope.

    Each view names its ``search_columns``: FAB's default offers a filter on every column,
    and the filter of a relation (the client, an invoice's lines) lists every row of that
    table, other accounts' included."""

    required_scope: str = ""
    base_permissions = ["can_list", "can_show"]
    base_filters = [["client_id", FilterEqualFunction, current_client_id]]

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)

        @blueprint.before_request
        def check_scope():
            if current_user.is_authenticated:  # anonymous users are sent to log in by has_access
                require_scope(self.required_scope)

        return blueprint


class MyServicesView(ClientScopedView):
    route_base = "/clientarea/services"
    datamodel = PortalInterface(Service)
    required_scope = "services"
    list_title = show_title = _l("My services")
    list_columns = ["name", "status", "billing_cycle", "price", "next_due_date"]
    show_columns = list_columns
    search_columns = ["name", "status", "next_due_date"]
    label_columns = {**SERVICE_LABELS, "price": _l("Amount")}
    formatters_columns = SERVICE_FORMATTERS
    base_order = ("name", "asc")


class MyDomainsView(ClientScopedView):
    route_base = "/clientarea/domains"
    datamodel = PortalInterface(Domain)
    required_scope = "domains"
    list_title = show_title = _l("My domains")
    list_columns = ["name", "status", "registered_on", "expires_on", "auto_renew"]
    show_columns = list_columns
    search_columns = ["name", "status", "expires_on"]
    label_columns = DOMAIN_LABELS
    formatters_columns = DOMAIN_FORMATTERS
    base_order = ("name", "asc")


class MyInvoicesView(ClientScopedView):
    route_base = "/clientarea/invoices"
    datamodel = PortalInterface(Invoice)
    required_scope = "invoices"
    list_title = show_title = _l("Billing notices")
    list_columns = ["number", "status", "issued_on", "due_on", "amount_due"]
    show_columns = list_columns
    search_columns = ["number", "status", "due_on"]
    label_columns = {**INVOICE_LABELS, "amount_due": _l("Total")}
    formatters_columns = INVOICE_FORMATTERS
    base_order = ("due_on", "desc")


class ServicesView(ModelView):
    route_base = "/admin/services"
    datamodel = PortalInterface(Service)
    list_title = _l("All services")
    list_columns = ["name", "client", "status", "billing_cycle", "price", "next_due_date"]
    add_columns = edit_columns = ["client", "name", "department_slug", "status", "billing_cycle", "amount",
                                  "currency", "next_due_date"]
    search_columns = ["name", "client", "status"]
    label_columns = {**SERVICE_LABELS, "price": _l("Amount")}
    formatters_columns = SERVICE_FORMATTERS


class DomainsView(ModelView):
    route_base = "/admin/domains"
    datamodel = PortalInterface(Domain)
    list_title = _l("All domains")
    list_columns = ["name", "client", "status", "registered_on", "expires_on", "auto_renew"]
    add_columns = edit_columns = ["client", "name", "status", "registered_on", "expires_on", "auto_renew"]
    search_columns = ["name", "client", "status"]
    label_columns = DOMAIN_LABELS
    formatters_columns = DOMAIN_FORMATTERS
