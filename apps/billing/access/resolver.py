"""`access_for_user`: the one entry point for "what may this user use right now?"."""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.models import User
from apps.core import state

from .. import conf
from . import cache
from .facts import facts_for_user
from .rules import NONE, Access, decide

ANONYMOUS = Access(status=NONE)


def access_compute(user_id: int) -> Access:
    """Decide from Postgres (dj-stripe's rows), bypassing the cache."""
    return decide(
        facts_for_user(user_id),
        now=timezone.now(),
        grace=conf.past_due_grace(),
        free_features=conf.free_features(),
    )


def access_for_user(
    user: User | AnonymousUser, *, snapshot: state.Snapshot | None = None
) -> Access:
    """The user's current Access: from the snapshot on a hit, Postgres on a miss.

    `snapshot` is the request's (`access_for_request`); without one, one is read. When
    Redis is unreachable the snapshot is unread and the answer comes from Postgres, so
    it is slower but never wrong; an error in Postgres propagates (the caller denies),
    never grants.
    """
    if not user.is_authenticated or user.pk is None:
        return ANONYMOUS
    now = timezone.now()
    snapshot = snapshot or state.read(user.pk)
    cached = cache.accept(snapshot.get(cache.SLOT), now=now)
    if cached is not None:
        return cached
    access = access_compute(user.pk)
    snapshot.put(cache.SLOT, access.as_json(), ttl=cache.ttl_for(access, now=now))
    return access


def access_for_request(request: HttpRequest) -> Access:
    """The Access of the request's user, from the snapshot the request already read."""
    user = request.user
    if not user.is_authenticated or user.pk is None:
        return ANONYMOUS
    return access_for_user(user, snapshot=state.for_request(request, user.pk))
