"""Time zones by IANA name: validated once, looked up from a cache.

Customers' zones come from profiles (untrusted input) and the policy's default zone from a
file, so a name is checked against the zone database before it is stored; the engine then
asks for the same few zones millions of times, hence the cache.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (raises ``ZoneInfoNotFoundError`` for an unknown name)."""
    return ZoneInfo(name)


def is_time_zone(name: str) -> bool:
    """True when ``name`` is a zone in the IANA database (``Europe/Berlin``, ``UTC``)."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
