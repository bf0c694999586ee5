"""An example Portal plugin, installed as a distribution with an entry point in the
``portal.plugins`` group and enabled with PORTAL_PLUGINS='["example"]'.

It imports nothing from Portal: the hook marker is built from the project name, and the
department is returned as a plain object with the fields Portal reads.

- adds a "Hosting support" department;
- writes one JSON line per ticket event to the file named by its ``log_path`` setting
  (PORTAL_PLUGIN_SETTINGS='{"example": {"log_path": "/var/log/portal-events.jsonl"}}').

The entry point names a class: Portal validates the settings with ``settings_schema`` and
makes one instance per app with them, so two apps never share a plugin's state.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pluggy
from marshmallow import Schema, fields

hookimpl = pluggy.HookimplMarker("portal")


class ExampleSettings(Schema):
    log_path = fields.String(required=True)


@dataclass(frozen=True)
class Department:
    slug: str
    name_es: str
    name_en: str
    description_es: str
    description_en: str
    sort_order: int = 100


class ExamplePlugin:
    settings_schema = ExampleSettings

    def __init__(self, settings: dict):
        self.log_path = settings["log_path"]

    @hookimpl
    def portal_register_departments(self):
        return [Department(
            slug="hosting",
            name_es="Soporte Hosting",
            name_en="Hosting support",
            description_es="Servidores, correo corporativo, copias de seguridad y certificados SSL.",
            description_en="Servers, corporate e-mail, backups and SSL certificates.",
        )]

    def _log(self, event: str, **data) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"event": event, **data}) + "\n")

    @hookimpl
    def portal_ticket_opened(self, ticket_id: int) -> None:
        self._log("ticket_opened", ticket_id=ticket_id)

    @hookimpl
    def portal_ticket_replied(self, ticket_id: int, message_id: int) -> None:
        self._log("ticket_replied", ticket_id=ticket_id, message_id=message_id)

    @hookimpl
    def portal_ticket_closed(self, ticket_id: int) -> None:
        self._log("ticket_closed", ticket_id=ticket_id)
