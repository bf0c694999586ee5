"""What plugins hand to the core."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from models.outbox import ChannelUnavailable  # noqa: F401 - raised by channels, re-exported for plugins


@dataclass(frozen=True)
class DepartmentSpec:
    slug: str
    name_es: str
    name_en: str
    description_es: str
    description_en: str
    sort_order: int = 0


class NotificationChannel(Protocol):
    name: str

    def send(self, message) -> None:
        """Deliver one models.outbox.OutboxMessage; raise to have it retried later.

        Raise ChannelUnavailable when the service itself cannot be reached (not just this
        message): the rest of that delivery pass then skips this channel."""
