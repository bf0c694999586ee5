class UserError(ValueError):
    """Input an operation refuses. ``str()`` gives the translated message for the user;
    nothing has been written when it is raised."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
