"""How times, money and messages are shown: the user's time zone and language."""
from __future__ import annotations

import markdown as markdown_lib
import nh3
from babel.dates import format_date, format_datetime
from flask import current_app, g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from models import db
from models.accounts import UserPreference
from models.billing import format_money
from models.timeutil import to_local

# Spanish as the operator's manual shows it: 23/03/2022 (11:56).
DATETIME_PATTERNS = {"es": "dd/MM/yyyy (HH:mm)", "en": "MM/dd/yyyy (h:mm a)"}
DATE_PATTERNS = {"es": "dd/MM/yyyy", "en": "MM/dd/yyyy"}
ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3",
                "h4", "hr", "table", "thead", "tbody", "tr", "th", "td"}


def user_timezone() -> str:
    user = getattr(g, "user", None)
    if user is not None and user.is_authenticated:
        if "portal_tz" not in g:
            pref = db.session.get(UserPreference, user.id)
            g.portal_tz = (pref and pref.timezone) or current_app.config["DEFAULT_TIMEZONE"]
        return g.portal_tz
    return current_app.config["DEFAULT_TIMEZONE"]


def local_datetime(value) -> str:
    if value is None:
        return ""
    locale = str(get_locale() or current_app.config["DEFAULT_LOCALE"])
    pattern = DATETIME_PATTERNS.get(locale[:2], DATETIME_PATTERNS["en"])
    return format_datetime(to_local(value, user_timezone()), pattern, locale=locale)


def render_markdown(text: str) -> Markup:
    """Markdown to HTML, then sanitized: scripts, styles, events and odd URLs never pass."""
    html = markdown_lib.markdown(text or "", extensions=["fenced_code", "tables", "nl2br"])
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"))


def register_template_helpers(app) -> None:
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["local_date"] = local_date


def local_date(value) -> str:
    if value is None:
        return ""
    locale = str(get_locale() or current_app.config["DEFAULT_LOCALE"])
    return format_date(value, DATE_PATTERNS.get(locale[:2], DATE_PATTERNS["en"]), locale=locale)


def yes_no(value) -> str:
    return str(_l("Yes") if value else _l("No"))


def label_of(labels: dict):
    """A column formatter showing the translated label of a stored code."""
    return lambda value: str(labels.get(value, value))
