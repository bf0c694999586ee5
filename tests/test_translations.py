"""The translation catalogs are complete and used.

- Every message in the code *right now* (extracted with babel's API, the way
  translations/README.md's `pybabel extract` does) has a non-empty, non-fuzzy msgstr in both
  translations/es and translations/en.
- Every entry keeps the same %(name)s placeholders in its msgstr as in its msgid.
- The Spanish labels the operator's clients are trained on are used verbatim.
- A real app serves the login page in Spanish by default and in English after /language/en.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LOCALES = ("es", "en")
# The same keywords as `pybabel extract -k _l -k lazy_gettext -k gettext -k _` (which adds
# them to babel's defaults: _, gettext, ngettext, ...).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "gettext": None, "_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)")

# Labels from the operator's manual (shared/REFERENCE-UX.md) and strings other tests rely on.
REFERENCE_ES = {
    "Log in": "Ingresar",
    "Sign in to your account to continue.": "Inicia sesión en tu cuenta para continuar.",
    "E-mail address": "Dirección de E-Mail",
    "Remember me": "Recordar Datos de Usuario",
    "Forgot your password?": "¿Perdiste la contraseña?",
    "Not registered? Create an account": "¿No estás registrado? Crear cuenta",
    "Update": "Actualizar",
    "Open ticket": "Abrir Ticket",
    "Create a new support request": "Crear Nuevo Requerimiento de Soporte",
    "Choose the area you want to open the support ticket for.":
        "Seleccione el área a la cual desea generar el ticket de soporte",
    "Name": "Nombre",
    "Subject": "Asunto",
    "Department": "Departamento",
    "Related service": "Servicios Relacionados",
    "None": "Nada",
    "Priority": "Prioridad",
    "High": "Alta",
    "Medium": "Media",
    "Low": "Baja",
    "Message": "Mensaje",
    "Attachments": "Adjuntos",
    "Add more": "Añadir más",
    "Send": "Enviar",
    "Cancel": "Cancelar",
    "Showing %(first)s to %(last)s of %(total)s entries": "Viendo %(first)s a %(last)s de %(total)s entradas",
    "Last update": "Última Actualización",
    "Status": "Estado",
    "Client area": "Área del Cliente",
    "Support": "Soporte",
    "Tickets": "Tickets",
    "Services": "Servicios",
    "Billing notices": "Avisos de cobro",
    "Your profile": "Tu perfil",
    "Change password": "Cambiar contraseña",
    "Contacts": "Contactos",
    "Log out": "Salir",
    "Open": "Abierto",
    "Answered": "Respondido",
    "Customer-Reply": "Respuesta del cliente",
    "In Progress": "En proceso",
    "On Hold": "En espera",
    "Resolved": "Solucionado",
    "Closed": "Cerrado",
    "New ticket #%(number)s: %(subject)s": "Nuevo ticket #%(number)s: %(subject)s",
}


def extract_messages() -> Catalog:
    """The messages in the source now, as `pybabel extract -F babel.cfg ...` finds them."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename=str(ROOT / "babel.cfg"))
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def load_po(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def _ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, (tuple, list)) else [message.id]


def _label(message) -> str:
    where = ", ".join(f"{name}:{line}" for name, line in message.locations[:2])
    return f"{_ids(message)[0]!r}" + (f" ({where})" if where else "")


@pytest.fixture(scope="module")
def source_messages() -> Catalog:
    catalog = extract_messages()
    assert len([m for m in catalog if m.id]) > 50, "extraction found almost nothing: is babel.cfg right?"
    return catalog


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_message_is_translated(source_messages, locale):
    po = load_po(locale)
    missing, fuzzy = [], []
    for message in source_messages:
        if not message.id:
            continue
        entry = po.get(message.id, message.context)
        if entry is None or not all(_strings(entry)):
            missing.append(_label(message))
        elif entry.fuzzy:
            fuzzy.append(_label(message))
    advice = ("run the extract, update, fill and compile steps of translations/README.md")
    assert not missing, (f"{len(missing)} message(s) without a {locale} translation ({advice}):\n  "
                         + "\n  ".join(missing))
    assert not fuzzy, f"{len(fuzzy)} fuzzy {locale} translation(s) to review:\n  " + "\n  ".join(fuzzy)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_fuzzy_entries_remain(locale):
    fuzzy = [_label(m) for m in load_po(locale) if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in {locale}:\n  " + "\n  ".join(fuzzy)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale):
    wrong = []
    for message in load_po(locale):
        if not message.id:
            continue
        expected = set().union(*(PLACEHOLDER.findall(i) for i in _ids(message)))
        for string in _strings(message):
            if string and set(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"{_ids(message)[0]!r} -> {string!r}")
    assert not wrong, f"placeholders differ between msgid and msgstr in {locale}:\n  " + "\n  ".join(wrong)


def test_english_catalog_is_the_source_text():
    different = [_label(m) for m in load_po("en") if m.id and _strings(m) != _ids(m)]
    assert not different, "en msgstr must equal msgid:\n  " + "\n  ".join(different)


def test_spanish_uses_the_reference_labels():
    po = load_po("es")
    wrong = [f"{msgid!r}: {po[msgid].string!r}, expected {expected!r}"
             for msgid, expected in REFERENCE_ES.items() if msgid in po and po[msgid].string != expected]
    assert not wrong, "Spanish labels differ from the operator's manual:\n  " + "\n  ".join(wrong)
    reply_notice = ("Do not answer this e-mail: replies sent by e-mail are not received. Answer inside the "
                    "client area, at the link above.")
    if reply_notice in po:
        assert po[reply_notice].string.startswith("No responda este correo")


def test_login_page_in_spanish_then_english(portal_client):
    page = portal_client.get("/login/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("Ingresar", "Recordar Datos de Usuario", "¿Perdiste la contraseña?",
                 "Inicia sesión en tu cuenta para continuar.", "¿No estás registrado? Crear cuenta"):
        assert text in html, f"{text!r} not on the Spanish login page"
    assert "Remember me" not in html

    switched = portal_client.get("/language/en")
    assert switched.status_code == 302

    html = portal_client.get("/login/").get_data(as_text=True)
    for text in ("Log in", "Remember me", "Forgot your password?"):
        assert text in html, f"{text!r} not on the English login page"
    assert "Recordar Datos de Usuario" not in html
    assert "Ingresar" not in html


def test_python_side_labels_follow_the_locale(portal_app):
    """Lazy strings defined at import time (models, forms) are translated when used."""
    from flask_babel import force_locale

    from models.support import PRIORITY_LABELS, STATUS_LABELS

    with portal_app.test_request_context():
        with force_locale("es"):
            assert str(STATUS_LABELS["customer_reply"]) == "Respuesta del cliente"
            assert str(PRIORITY_LABELS["high"]) == "Alta"
        with force_locale("en"):
            assert str(STATUS_LABELS["customer_reply"]) == "Customer-Reply"
