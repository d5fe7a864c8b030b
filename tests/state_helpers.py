"""Names tests use to look at the access-state layer's keys in Redis."""

from django.utils import timezone

from apps.accounts.session_store import user_id_of
from apps.billing.access import cache as access_cache
from apps.billing.access.rules import Access
from apps.core import state
from apps.core.state.subjects import SESSION_DATA


def session_copy_key(session_key: str) -> str:
    """Where Redis keeps the copy of a session whose key names its user."""
    user_id = user_id_of(session_key)
    assert user_id is not None, "only sessions that name their user are copied here"
    return state.session(user_id, session_key).value_key(SESSION_DATA)


def access_key(user_id: int) -> str:
    return state.user(user_id).value_key("access")


def generation_key(user_id: int) -> str:
    return state.user(user_id).generation_key


def generation(user_id: int) -> int:
    """The user's generation as a request would read it now."""
    generation = state.read(user_id).generation
    assert generation is not None, "Redis did not answer"
    return generation


def cached_access(user_id: int) -> tuple[Access | None, int]:
    """(the Access the cache would serve now or None, the generation it was read under)."""
    snapshot = state.read(user_id)
    assert snapshot.generation is not None, "Redis did not answer"
    return access_cache.accept(
        snapshot.get(access_cache.SLOT), now=timezone.now()
    ), snapshot.generation
