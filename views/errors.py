"""Error pages: in the portal's layout and the user's language, JSON under /api/."""
from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.exceptions import HTTPException, InternalServerError

CODES = (400, 403, 404, 405, 413, 429, 500)
ERROR_TEXTS = {
    400: (_l("The request could not be understood"),
          _l("The form may have expired. Go back, reload the page and try again.")),
    403: (_l("You may not open this page"), _l("Your user does not have access to this page or action.")),
    404: (_l("Page not found"), _l("What you are looking for does not exist, or is not yours to see.")),
    405: (_l("Page not found"), _l("What you are looking for does not exist, or is not yours to see.")),
    429: (_l("Too many attempts"), _l("You tried too many times from this address. Wait a minute and try again.")),
    500: (_l("Something went wrong"), _l("The error was recorded. Try again in a moment.")),
}


def error_text(code: int) -> tuple:
    if code == 413:  # a request larger than all the attachments a message may carry
        config = current_app.config
        return _l("The files are too large"), ngettext(
            "Each file can have at most %(mb)s MB, and a message at most %(num)s file. Go back, remove or reduce "
            "some files and send again.",
            "Each file can have at most %(mb)s MB, and a message at most %(num)s files. Go back, remove or reduce "
            "some files and send again.",
            config["ATTACHMENT_MAX_FILES"], mb=config["ATTACHMENT_MAX_MB"])
    return ERROR_TEXTS.get(code, ERROR_TEXTS[500])


def error_page(error):
    if not isinstance(error, HTTPException):
        error = InternalServerError()
    title, message = error_text(error.code)
    if request.path.startswith("/api/"):
        return {"message": str(message)}, error.code
    return render_template("errors/error.html", appbuilder=current_app.appbuilder, code=error.code,
                           title=title, message=message), error.code


def register_error_pages(app) -> None:
    for code in CODES:
        app.register_error_handler(code, error_page)
