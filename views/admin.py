"""Generated views for administrators (and read access for staff): client companies,
contacts and departments. Users and roles are Flask-AppBuilder's own security views."""
from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, ValidationError
from wtforms.validators import Optional

from models.accounts import SCOPES, Client, Contact
from models.support import Department
from views.auth import email_address
from views.datamodel import PortalInterface


def known_scopes(form, field):
    unknown = [scope for scope in (field.data or "").split() if scope not in SCOPES]
    if unknown:
        raise ValidationError(_l("Unknown scopes: %(scopes)s. Use: %(known)s.", scopes=" ".join(unknown),
                                 known=" ".join(SCOPES)))


class ContactsView(ModelView):
    route_base = "/admin/contacts"
    datamodel = PortalInterface(Contact)
    list_title = _l("Contacts")
    list_columns = ["name", "email", "client", "position", "is_owner", "active", "scopes"]
    add_columns = edit_columns = ["client", "user", "name", "email", "phone", "position", "is_owner", "active",
                                  "scopes"]
    search_columns = ["name", "email", "client"]
    label_columns = {
        "name": _l("Name"), "email": _l("E-mail address"), "client": _l("Client"), "position": _l("Position"),
        "is_owner": _l("Owner"), "active": _l("Active"), "scopes": _l("Scopes"), "user": _l("User"),
        "phone": _l("Phone"),
    }
    description_columns = {"scopes": _l("Space-separated: profile contacts services domains invoices pay "
                                         "tickets support_emails billing_emails")}
    validators_columns = {"scopes": [known_scopes]}


class ClientsView(ModelView):
    route_base = "/admin/clients"
    datamodel = PortalInterface(Client)
    list_title = _l("Client companies")
    related_views = [ContactsView]
    list_columns = ["company_name", "tax_id", "city", "email", "legal_rep_name"]
    add_columns = edit_columns = show_columns = [
        "company_name", "tax_id", "address", "city", "country", "phone", "email", "legal_rep_name",
        "legal_rep_id_number", "legal_rep_email", "legal_rep_phone", "currency"]
    search_columns = ["company_name", "tax_id", "email", "legal_rep_name"]
    label_columns = {
        "company_name": _l("Company"), "tax_id": _l("Tax id (NIT)"), "address": _l("Address"), "city": _l("City"),
        "country": _l("Country"), "phone": _l("Phone"), "email": _l("E-mail address"),
        "legal_rep_name": _l("Legal representative"), "legal_rep_id_number": _l("Legal representative's id number"),
        "legal_rep_email": _l("Legal representative's e-mail"),
        "legal_rep_phone": _l("Legal representative's phone"), "currency": _l("Currency"),
    }


class DepartmentsView(ModelView):
    route_base = "/admin/departments"
    datamodel = PortalInterface(Department)
    list_title = _l("Departments")
    list_columns = ["name_es", "name_en", "slug", "email", "active", "sort_order"]
    add_columns = edit_columns = show_columns = ["slug", "name_es", "name_en", "description_es", "description_en",
                                                 "email", "active", "sort_order", "staff"]
    label_columns = {
        "slug": _l("Code"), "name_es": _l("Name (Spanish)"), "name_en": _l("Name (English)"),
        "description_es": _l("Description (Spanish)"), "description_en": _l("Description (English)"),
        "email": _l("Department e-mail"), "active": _l("Active"), "sort_order": _l("Order"), "staff": _l("Staff"),
    }
    base_order = ("sort_order", "asc")
    add_form_extra_fields = edit_form_extra_fields = {
        "email": EmailField(_l("Department e-mail"), validators=[Optional(), email_address()],
                            description=_l("Also receives the department's new tickets (optional)."),
                            widget=BS3TextFieldWidget()),
    }
