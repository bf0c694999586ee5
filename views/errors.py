"""What an error page says, by status code."""
from flask_babel import lazy_gettext as _l

ERROR_TEXTS = {
    400: (_l("The request could not be understood"),
          _l("The form may have expired. Go back, reload the page and try again.")),
    403: (_l("You may not open this page"), _l("Your user does not have access to this page or action.")),
    404: (_l("Page not found"), _l("What you are looking for does not exist, or is not yours to see.")),
    405: (_l("Page not found"), _l("What you are looking for does not exist, or is not yours to see.")),
    500: (_l("Something went wrong"), _l("The error was recorded. Try again in a moment.")),
}
