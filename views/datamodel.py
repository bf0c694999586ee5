"""The data interface every generated view uses."""
from flask_appbuilder.models.sqla.interface import SQLAInterface


class PortalInterface(SQLAInterface):
    """Flask-AppBuilder's SQLAlchemy interface, except for what "required" means in forms.

    FAB makes every NOT NULL column a required field. Two kinds are not: a boolean (an
    unticked checkbox is False, so a contact that is not the owner could never be saved) and
    a text column whose default is "" (the portal's way of saying "none": a phone, a
    position, a department e-mail)."""

    def is_nullable(self, col_name: str) -> bool:
        column = self.list_columns.get(col_name)
        default = getattr(getattr(column, "default", None), "arg", None)
        return self.is_boolean(col_name) or default == "" or super().is_nullable(col_name)
