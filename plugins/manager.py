"""Builds the plugin manager for one app (kept in ``app.extensions["portal"].plugins``).

Built-in plugins are always registered. External plugins are distributions exposing an
entry point in the ``portal.plugins`` group; only those named in the PLUGINS setting are
loaded, in that order. An entry point names a module, or a class that is instantiated with
the plugin's validated settings (one instance per app). A plugin that cannot be loaded, implements an unknown hook, or whose
settings do not validate stops start-up with a message that says which and why.
"""
from __future__ import annotations

import os
from importlib.metadata import entry_points

import pluggy

from plugins import hookspecs
from plugins.builtin import departments, email

ENTRY_POINT_GROUP = "portal.plugins"
BUILTIN_PLUGINS = {"departments": departments, "email": email}


class PluginError(RuntimeError):
    pass


def resolve_settings(raw: dict) -> dict:
    """Replace values written "env:NAME" by that environment variable (secrets stay out of config)."""
    resolved = {}
    for key, value in raw.items():
        if isinstance(value, str) and value.startswith("env:"):
            env_name = value[4:]
            if env_name not in os.environ:
                raise PluginError(f"setting {key!r} needs the environment variable {env_name}, which is not set")
            value = os.environ[env_name]
        resolved[key] = value
    return resolved


def _validated_settings(name: str, plugin, raw: dict) -> dict:
    settings = resolve_settings(raw)
    schema_class = getattr(plugin, "settings_schema", None)
    if schema_class is None:
        if settings:
            raise PluginError(f"plugin {name!r} takes no settings (it declares no settings_schema), "
                              f"but PLUGIN_SETTINGS gives it {sorted(settings)}")
        return settings
    from marshmallow import ValidationError

    try:
        return schema_class().load(settings)
    except ValidationError as exc:
        raise PluginError(f"plugin {name!r}: invalid settings: {exc.messages}") from exc


def get_plugin_manager(enabled: list[str], plugin_settings: dict | None = None) -> pluggy.PluginManager:
    plugin_settings = plugin_settings or {}
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(module, name=name)
    available = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    pm.settings = {}
    for name in enabled:
        if name in BUILTIN_PLUGINS:
            continue
        if name not in available:
            raise PluginError(
                f"plugin {name!r} is enabled in PORTAL_PLUGINS but no installed distribution provides it "
                f"(entry point group {ENTRY_POINT_GROUP!r}; installed: {sorted(available) or 'none'})"
            )
        try:
            plugin = available[name].load()
        except Exception as exc:
            raise PluginError(f"plugin {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
        settings = _validated_settings(name, plugin, plugin_settings.get(name, {}))
        if isinstance(plugin, type):  # a class gets its settings, one instance per app
            try:
                plugin = plugin(settings)
            except Exception as exc:
                raise PluginError(f"plugin {name!r} failed to start: {type(exc).__name__}: {exc}") from exc
        pm.settings[name] = settings
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r}: {exc}") from exc
    unknown = set(plugin_settings) - set(pm.settings) - set(BUILTIN_PLUGINS)
    if unknown:
        raise PluginError(f"settings given for plugins that are not enabled: {sorted(unknown)}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc
    return pm
