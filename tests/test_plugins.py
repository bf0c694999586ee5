"""The plugin system: hooks documented, per-app managers, clear start-up failures, the
example external plugin installed by its entry point, and isolation of failing plugins."""
import inspect
import json
import re
import sys
import types
from importlib.metadata import entry_points
from pathlib import Path

import pluggy
import pytest

from plugins import hookspecs
from plugins.manager import PluginError, get_plugin_manager
from plugins.testing import channel_contract, login

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def hook_names():
    return sorted(name for name, obj in inspect.getmembers(hookspecs)
                  if name.startswith("portal_") and callable(obj))


def test_every_hook_is_documented_typed_and_named_portal():
    documented = set(re.findall(r"^### (portal_\w+)$", DOCS.read_text(), re.M))
    names = hook_names()
    assert names, "no hooks found"
    assert set(names) == documented, f"undocumented: {set(names) - documented}; stale: {documented - set(names)}"
    for name in names:
        function = getattr(hookspecs, name)
        assert function.__doc__, f"{name} has no docstring"
        signature = inspect.signature(function)
        assert signature.return_annotation is not inspect.Signature.empty, f"{name} has no return annotation"
        for parameter in signature.parameters.values():
            assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name}) is not typed"


def test_example_plugin_is_installed_by_entry_point():
    names = {ep.name: ep.value for ep in entry_points(group="portal.plugins")}
    assert names.get("example") == "portal_example_plugin:ExamplePlugin"


def test_each_app_gets_its_own_manager(portal_app_factory, tmp_path):
    first = portal_app_factory()
    second = portal_app_factory(PLUGINS=["example"], PLUGIN_SETTINGS={"example": {"log_path": str(tmp_path / "x")}})
    assert first.extensions["portal"].plugins is not second.extensions["portal"].plugins
    assert "example" not in {name for name, _ in first.extensions["portal"].plugins.list_name_plugin()}
    assert "example" in {name for name, _ in second.extensions["portal"].plugins.list_name_plugin()}


def test_builtin_channels_meet_the_contract(portal_app):
    channels = portal_app.extensions["portal"].channels
    assert set(channels) == {"email"}
    for channel in channels.values():
        channel_contract(channel)


@pytest.mark.parametrize("plugins, settings, message", [
    (["nope"], {}, "plugin 'nope' is enabled in PORTAL_PLUGINS but no installed distribution provides it"),
    (["example"], {}, "plugin 'example': invalid settings: {'log_path': ['Missing data for required field.']}"),
    (["example"], {"example": {"log_path": "env:PORTAL_TEST_UNSET_VARIABLE"}},
     "needs the environment variable PORTAL_TEST_UNSET_VARIABLE, which is not set"),
    ([], {"example": {"log_path": "/tmp/x"}}, "settings given for plugins that are not enabled: ['example']"),
])
def test_a_bad_plugin_stops_start_up_with_a_clear_message(portal_app_factory, plugins, settings, message):
    with pytest.raises(PluginError) as error:
        portal_app_factory(PLUGINS=plugins, PLUGIN_SETTINGS=settings)
    assert message in str(error.value)


def test_settings_are_read_from_the_environment(portal_app_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_TEST_LOG_PATH", str(tmp_path / "events.jsonl"))
    app = portal_app_factory(PLUGINS=["example"], PLUGIN_SETTINGS={"example": {"log_path": "env:PORTAL_TEST_LOG_PATH"}})
    assert app.extensions["portal"].plugins.settings["example"] == {"log_path": str(tmp_path / "events.jsonl")}


def _fake_distribution(monkeypatch, name, target):
    """Make an entry point in portal.plugins resolve to ``target`` (an object in a module)."""
    module = types.ModuleType(f"portal_test_{name}")
    module.plugin = target
    monkeypatch.setitem(sys.modules, module.__name__, module)
    import plugins.manager as manager

    real = manager.entry_points

    def fake_entry_points(group):
        found = list(real(group=group))
        from importlib.metadata import EntryPoint

        return found + [EntryPoint(name=name, value=f"{module.__name__}:plugin", group=group)]

    monkeypatch.setattr(manager, "entry_points", fake_entry_points)


def test_a_hook_that_does_not_exist_stops_start_up(portal_app_factory, monkeypatch):
    class Typo:
        @pluggy.HookimplMarker("portal")
        def portal_ticket_openned(self, ticket_id):
            pass

    _fake_distribution(monkeypatch, "typo", Typo())
    with pytest.raises(PluginError, match="portal_ticket_openned"):
        get_plugin_manager(["typo"])


def test_example_plugin_adds_its_department_and_logs_ticket_events(portal_app_factory, make_user, tmp_path):
    log_path = tmp_path / "events.jsonl"
    app = portal_app_factory(PLUGINS=["example"], PLUGIN_SETTINGS={"example": {"log_path": str(log_path)}})
    make_user("plugin-client@test.test", "secret-pass")
    client = app.test_client()
    login(client, "plugin-client@test.test", "secret-pass")
    choose = client.get("/support/open/").get_data(as_text=True)
    assert "Soporte Hosting" in choose
    from models import db
    from models.support import Department, Ticket

    with app.app_context():
        hosting = db.session.query(Department).filter_by(slug="hosting").one()
        response = client.post("/support/open/hosting", data={
            "department_id": hosting.id, "subject": "Certificado SSL vencido", "message": "El sitio dice inseguro.",
            "priority": "medium"})
        assert response.status_code == 302
        ticket = db.session.query(Ticket).one()
        assert ticket.department_id == hosting.id
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert events == [{"event": "ticket_opened", "ticket_id": ticket.id}]


def test_departments_edited_by_administrators_are_kept_on_resync(portal_app_factory):
    from models import db
    from models.support import Department
    from views.departments import sync_plugin_departments

    app = portal_app_factory()
    with app.app_context():
        moodle = db.session.query(Department).filter_by(slug="moodle").one()
        moodle.description_es = "Texto del administrador"
        db.session.commit()
        assert sync_plugin_departments() == 0
        assert db.session.query(Department).filter_by(slug="moodle").one().description_es == "Texto del administrador"
        assert db.session.query(Department).count() == 5


class _Failing:
    @pluggy.HookimplMarker("portal")
    def portal_ticket_opened(self, ticket_id):
        raise RuntimeError("this plugin is broken")


class _Recording:
    def __init__(self):
        self.seen = []

    @pluggy.HookimplMarker("portal")
    def portal_ticket_opened(self, ticket_id):
        self.seen.append(ticket_id)


class _Router:
    @pluggy.HookimplMarker("portal")
    def portal_route_ticket(self, subject, body, department_slug):
        return "sima" if "SIMA" in subject else None


def _open(app, client_id, department_slug, subject):
    from models import db
    from models.support import Department, NewTicket, open_ticket

    with app.app_context():
        department = db.session.query(Department).filter_by(slug=department_slug).one()
        ticket = open_ticket(db.session, NewTicket(client_id=client_id, department_id=department.id, name="A",
                                                   email="a@test.test", subject=subject, body="Hola"),
                             app.extensions["portal"].attachments)
        return ticket.id, ticket.department.slug


def test_a_failing_event_hook_neither_stops_other_plugins_nor_undoes_the_ticket(portal_app, make_user, caplog):
    _, client_id = make_user("hooks@test.test")
    recording = _Recording()
    plugins = portal_app.extensions["portal"].plugins
    plugins.register(_Failing(), name="failing")
    plugins.register(recording, name="recording")
    ticket_id, _ = _open(portal_app, client_id, "moodle", "Pregunta")
    assert recording.seen == [ticket_id]
    assert "this plugin is broken" in caplog.text
    from models import db
    from models.support import Ticket

    with portal_app.app_context():
        assert db.session.get(Ticket, ticket_id) is not None


def test_a_plugin_routes_tickets_to_another_department(portal_app, make_user):
    _, client_id = make_user("route@test.test")
    portal_app.extensions["portal"].plugins.register(_Router(), name="router")
    assert _open(portal_app, client_id, "moodle", "Falla en SIMA")[1] == "sima"
    assert _open(portal_app, client_id, "moodle", "Curso nuevo")[1] == "moodle"


class _CollectingChannel:
    name = "collect"

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append((message.recipient, message.subject))


class _ChannelPlugin:
    def __init__(self, channel):
        self.channel = channel

    @pluggy.HookimplMarker("portal")
    def portal_register_notification_channels(self):
        return [self.channel]


def test_a_plugin_channel_listed_in_notification_channels_gets_every_notification(
        portal_app_factory, make_user, monkeypatch):
    channel = _CollectingChannel()
    _fake_distribution(monkeypatch, "collector", _ChannelPlugin(channel))
    app = portal_app_factory(PLUGINS=["collector"], NOTIFICATION_CHANNELS=["email", "collect"])
    channel_contract(channel)
    from models import db
    from models.outbox import OutboxMessage

    make_user("staff@test.test", "staff-pass", role="Staff")
    with app.app_context():
        from flask_appbuilder.security.sqla.models import User

        from models.support import Department, StaffDepartment

        staff = db.session.query(User).filter_by(email="staff@test.test").one()
        moodle = db.session.query(Department).filter_by(slug="moodle").one()
        db.session.add(StaffDepartment(user_id=staff.id, department_id=moodle.id))
        db.session.commit()
    _, client_id = make_user("client@test.test")
    ticket_id, _ = _open(app, client_id, "moodle", "Canales")
    assert [recipient for recipient, _ in channel.sent] == ["staff@test.test"]
    with app.app_context():
        assert sorted(db.session.query(OutboxMessage.channel).filter_by(
            event=f"ticket.opened:{ticket_id}").all()) == [("collect",), ("email",)]


def test_listing_a_channel_no_plugin_registers_stops_start_up(portal_app_factory):
    with pytest.raises(RuntimeError, match=r"NOTIFICATION_CHANNELS names channels no plugin registers: \['sms'\]"):
        portal_app_factory(NOTIFICATION_CHANNELS=["email", "sms"])


def test_settings_for_a_plugin_that_takes_none_stop_start_up(monkeypatch):
    _fake_distribution(monkeypatch, "plain", _Recording())
    with pytest.raises(PluginError, match="takes no settings"):
        get_plugin_manager(["plain"], {"plain": {"a": 1}})


def test_list_settings_take_comma_separated_names(monkeypatch):
    import config

    monkeypatch.setenv("PORTAL_PLUGINS", "example, other")
    monkeypatch.setenv("PORTAL_NOTIFICATION_CHANNELS", '["email"]')
    settings = config.load_config({"SECRET_KEY": "x"})
    assert settings["PLUGINS"] == ["example", "other"]
    assert settings["NOTIFICATION_CHANNELS"] == ["email"]
