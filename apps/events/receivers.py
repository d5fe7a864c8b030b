"""Receivers of the signals billing and accounts send inside their transactions."""

from typing import Any

from apps.accounts.signals import session_ended
from apps.billing.signals import access_changed

from . import services


def on_access_changed(sender: Any, user_ids: frozenset[int], **kwargs: Any) -> None:
    services.access_changed_announce(user_ids=user_ids)


def on_session_ended(
    sender: Any, user_id: int, session_id: str, rotated: bool = False, **kwargs: Any
) -> None:
    services.session_ended_announce(user_id=user_id, session_id=session_id, rotated=rotated)


def connect() -> None:
    access_changed.connect(on_access_changed, dispatch_uid="events.access_changed")
    session_ended.connect(on_session_ended, dispatch_uid="events.session_ended")
