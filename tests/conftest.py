"""Portal's own fixtures come from plugins/testing.py (the ``portal`` pytest11 plugin that
plugin authors get too); these are the ones only Portal's suite needs."""
import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("portal"):
        raise pytest.UsageError("Portal's pytest plugin is not loaded: install the project with "
                                "`pip install -e .[test]` (the README's test command does).")


@pytest.fixture
def demo_app(portal_app):
    """The portal with the reference case loaded (`flask portal demo`)."""
    from demo import load_demo

    with portal_app.app_context():
        load_demo()
    return portal_app


def pytest_sessionstart(session):
    """Compile the translation catalogs (the .mo files are build output, not committed)."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).resolve().parent.parent.glob("translations/*/LC_MESSAGES/messages.po"):
        with open(po_path, "rb") as po_file:
            catalog = read_po(po_file)
        with open(po_path.with_suffix(".mo"), "wb") as mo_file:
            write_mo(mo_file, catalog)
