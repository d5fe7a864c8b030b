"""Thousands of paying, signed-in members in seconds, for the population benchmarks.

How: one member is built the real way (the fake Stripe API, then dj-stripe's own sync).
Every other member is a copy of its rows made with `bulk_create`: the User, its
dj-stripe Customer, Subscription and SubscriptionItem (Stripe ids renumbered and
`stripe_data` rewritten to match, so Access computes from them exactly as from a synced
member), its sessions-list row, and a signed-in session written through the project's own
session store, so the key names its user as a real sign-in's does, with its idle clock
somewhere in the last period (as a live population's are). Creating 10,000 takes about
half a minute on this machine, nearly all of it the sessions (one Postgres row and one
Redis SET each).
"""

import copy
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import jwt
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import transaction
from djstripe.models import Customer, Subscription, SubscriptionItem

from apps.accounts import middleware
from apps.accounts.middleware import AUTHENTICATED_AT, LAST_SEEN
from apps.accounts.models import User
from apps.accounts.session_store import SessionStore
from bench.fixtures import install_fake_stripe, member, pro_price

EMAIL = "bench-crowd-{:06d}@example.com"
BATCH = 1000
Row = TypeVar("Row", Customer, Subscription, SubscriptionItem)


def _copy(row: Row, *, stripe_id: str, **fields: Any) -> Row:
    """The row again under a new Stripe id: a new primary key, `stripe_data` to match."""
    clone = copy.copy(row)
    clone.djstripe_id = None
    clone.id = stripe_id
    clone.stripe_data = {**row.stripe_data, "id": stripe_id}
    for name, value in fields.items():
        setattr(clone, name, value)
    return clone


def _batches(count: int) -> Iterator[range]:
    for start in range(0, count, BATCH):
        yield range(start, min(start + BATCH, count))


def _idle_clock_period() -> int:
    """How often a request rewrites the session's idle clock (60 s before it had a name)."""
    resolution = getattr(middleware, "idle_resolution", None)
    return resolution() if resolution else 60


def _sign_in(user: User, *, now: int) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[AUTHENTICATED_AT] = now
    # Spread over one period, as a live population's are: from the first second, each
    # minute rewrites the share of sessions a real minute would, not all at once later.
    store[LAST_SEEN] = now - random.randrange(_idle_clock_period())
    store.create()  # a key that names the user, as a real sign-in gets
    return str(store.session_key)


def token(user_id: int) -> str:
    """The JWT reference's per-member token: what a stateless gate would carry."""
    claims = {"sub": str(user_id), "features": ["reports", "exports"]}
    return jwt.encode(
        {**claims, "exp": int(time.time()) + 86400}, settings.SECRET_KEY, algorithm="HS256"
    )


def crowd(count: int, *, progress: Callable[[str], None] = print) -> list[dict[str, str]]:
    """`count` paying members signed in once each: [{"session", "jwt", "user_id"}]."""
    fake = install_fake_stripe()
    template, _, subscription_id = member(fake, email=EMAIL.format(0), price_id=pro_price(fake))
    customer = Customer.objects.get(subscriber=template)
    subscription = Subscription.objects.get(id=subscription_id)
    item = SubscriptionItem.objects.get(subscription=subscription)
    # A previous run's copies go first (their Stripe ids would collide with nothing, but
    # they would count as members).
    SubscriptionItem.objects.filter(id__startswith="si_crowd").delete()
    Subscription.objects.filter(id__startswith="sub_crowd").delete()
    Customer.objects.filter(id__startswith="cus_crowd").delete()
    User.objects.filter(email__startswith="bench-crowd-").exclude(pk=template.pk).delete()

    people = [template]
    started = time.monotonic()
    for batch in _batches(count):
        with transaction.atomic():
            users = User.objects.bulk_create(
                [User(email=EMAIL.format(n), password="!") for n in batch if n]  # noqa: S106
            )
            Customer.objects.bulk_create(
                [_copy(customer, stripe_id=f"cus_crowd{u.pk}", subscriber=u) for u in users]
            )
            Subscription.objects.bulk_create(
                [
                    _copy(
                        subscription,
                        stripe_id=f"sub_crowd{u.pk}",
                        customer_id=f"cus_crowd{u.pk}",
                        stripe_data={
                            **subscription.stripe_data,
                            "id": f"sub_crowd{u.pk}",
                            "customer": f"cus_crowd{u.pk}",
                        },
                    )
                    for u in users
                ]
            )
            SubscriptionItem.objects.bulk_create(
                [
                    _copy(item, stripe_id=f"si_crowd{u.pk}", subscription_id=f"sub_crowd{u.pk}")
                    for u in users
                ]
            )
        people += users
        progress(f"  members: {len(people):,} of {count:,} ({time.monotonic() - started:.0f} s)")

    now = int(time.time())
    signed_in = []
    for batch in _batches(len(people)):
        sessions = [
            (person, _sign_in(person, now=now)) for person in people[batch.start : batch.stop]
        ]
        UserSession.objects.bulk_create(
            [
                UserSession(user=person, session_key=key, ip="127.0.0.1", user_agent="wrk (bench)")
                for person, key in sessions
            ]
        )
        signed_in += [
            {"session": key, "jwt": token(person.pk), "user_id": str(person.pk)}
            for person, key in sessions
        ]
        progress(
            f"  signed in: {len(signed_in):,} of {count:,} ({time.monotonic() - started:.0f} s)"
        )
    return signed_in
