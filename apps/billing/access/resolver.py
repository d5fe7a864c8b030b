"""`access_for_user`: the one entry point for "what may this user use right now?"."""

import logging

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from redis.exceptions import RedisError

from apps.accounts.identity import ACCESS_PREFETCH
from apps.accounts.models import User
from apps.core.redis_outage import redis_outage

from .. import conf
from . import cache
from .facts import facts_for_user
from .rules import NONE, Access, decide

logger = logging.getLogger(__name__)

ANONYMOUS = Access(status=NONE)


def access_compute(user_id: int) -> Access:
    """Decide from Postgres (dj-stripe's rows), bypassing the cache."""
    return decide(
        facts_for_user(user_id),
        now=timezone.now(),
        grace=conf.past_due_grace(),
        free_features=conf.free_features(),
    )


def access_for_user(user: User | AnonymousUser) -> Access:
    """The user's current Access: one Redis round trip on a hit, Postgres on a miss.

    When Redis is unreachable the answer comes from Postgres, so it is slower but
    never wrong; an error in Postgres propagates (the caller denies), never grants.
    """
    if not user.is_authenticated or user.pk is None:
        return ANONYMOUS
    user_id: int = user.pk
    now = timezone.now()
    generation: int | None = None
    prefetched = getattr(user, ACCESS_PREFETCH, None)
    if prefetched is not None:
        # The identity middleware already fetched this slot in its MGET.
        generation, payload = prefetched
        cached = cache.accept(payload, now=now)
        if cached is not None:
            return cached
    elif redis_outage.should_try():
        try:
            cached, generation = cache.read(user_id, now=now)
        except RedisError as exc:
            redis_outage.failed(exc)
        else:
            redis_outage.succeeded()
            if cached is not None:
                return cached
    access = access_compute(user_id)
    if generation is not None:
        try:
            cache.write(user_id, access, generation=generation, now=now)
        except RedisError as exc:
            redis_outage.failed(exc)
    return access
