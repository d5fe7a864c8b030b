"""Slots: the values apps cache per user, each registered once in its AppConfig.ready.

The identity snapshot (accounts) and the Access (billing) are slots today. Every
request's MGET reads every registered slot, and an invalidation deletes them all, so a
new slot is one `register` call and joins the same generation.
"""

from dataclasses import dataclass

VALUE_TTL_CEILING = 60 * 60  # no value outlives its generation (a week): see invalidation.py


@dataclass(frozen=True)
class Slot:
    name: str


_registry: dict[str, Slot] = {}


def register(name: str) -> Slot:
    """Idempotent, so a reloaded AppConfig registers nothing twice."""
    return _registry.setdefault(name, Slot(name))


def registered() -> tuple[Slot, ...]:
    return tuple(_registry.values())
