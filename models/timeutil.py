"""Times are stored as naive UTC and shown in the user's time zone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def to_local(value: dt.datetime, tz_name: str) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(tz_name))
