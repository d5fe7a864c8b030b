"""Revocation that holds under Redis faults (the audit's zombie-session, lost-invalidation
and deactivation-race findings).

A session that was ended, a user row that changed, a subscription that stopped paying:
each must stay revoked when the Redis write that was to carry it is lost, fails, or
races a concurrent request. Postgres is the truth; no copy in Redis may outlive it.
"""

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import User
from apps.core import redis_outage as redis_outage_module
from apps.core.models import OwedInvalidation
from apps.core.state import guard
from tests.billing import stripe_builders as build
from tests.reliability.conftest import RedisServer, who
from tests.state_helpers import generation

pytestmark = pytest.mark.django_db

NEW_EMAIL = "attacker@example.com"


def session_key(device: Client) -> str:
    return device.cookies[settings.SESSION_COOKIE_NAME].value


def signed_in_as(device: Client) -> bool:
    return bool(who(device.get(reverse("web:home"))).is_authenticated)


def can_add_an_email(device: Client) -> bool:
    """The audit's escalation: a zombie cookie adds an address, then resets the password."""
    device.post(reverse("account_email"), {"action_add": "", "email": NEW_EMAIL})
    return EmailAddress.objects.filter(email=NEW_EMAIL).exists()


@contextmanager
def stalled(server: RedisServer) -> Iterator[None]:
    """Redis stops answering but keeps its data (a partition or a stall, not a restart)."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


@pytest.fixture
def quick_retry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Try Redis again on the very next request after a failure (not 2 s later)."""
    monkeypatch.setattr(redis_outage_module, "RETRY_AFTER_SECONDS", 0)


@pytest.fixture
def lost_session_deletes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Redis acknowledges nothing of a session DEL (an error the sessions alias swallows,
    or a failover that loses an acknowledged write): the old copy stays in Redis."""
    monkeypatch.setattr(caches[settings.SESSION_CACHE_ALIAS], "delete", lambda *a, **k: False)


def _end_others_from_sessions_page(laptop: Client, member: User, phone: Client) -> None:
    response = laptop.post(reverse("accounts:sessions_end_others"))
    assert response.status_code == 302


def _end_one_from_sessions_page(laptop: Client, member: User, phone: Client) -> None:
    from allauth.usersessions.models import UserSession

    row = UserSession.objects.get(session_key=session_key(phone))
    laptop.post(reverse("accounts:session_end", args=[row.pk]))


def _admin_ends_all(laptop: Client, member: User, phone: Client) -> None:
    services.sessions_end_all(user=member, keep_session_key=session_key(laptop))


def _password_change(laptop: Client, member: User, phone: Client) -> None:
    response = laptop.post(
        reverse("account_change_password"),
        {
            "oldpassword": "correct horse battery staple",
            "password1": "a brand new passphrase 42",
            "password2": "a brand new passphrase 42",
        },
    )
    assert response.status_code == 302, response.content


def _deactivation(laptop: Client, member: User, phone: Client) -> None:
    member.is_active = False
    member.save()


ENDINGS = {
    "sign out other devices": _end_others_from_sessions_page,
    "sign out one device": _end_one_from_sessions_page,
    "admin ends all sessions": _admin_ends_all,
    "password change": _password_change,
    "deactivation": _deactivation,
}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_session_ended_while_redis_loses_the_delete_is_anonymous_and_powerless(
    signed_in, member, lost_session_deletes, django_capture_on_commit_callbacks, ending
):
    laptop, phone = signed_in(), signed_in()
    assert signed_in_as(phone)  # its copy is in Redis (and this thread's near cache)

    with django_capture_on_commit_callbacks(execute=True):
        ending(laptop, member, phone)

    assert not signed_in_as(phone)
    assert not can_add_an_email(phone)


def test_a_session_ended_while_redis_is_stalled_stays_ended_when_redis_returns(
    own_redis, signed_in, member, django_capture_on_commit_callbacks, quick_retry
):
    laptop, phone = signed_in(), signed_in()
    assert signed_in_as(phone)

    with stalled(own_redis), django_capture_on_commit_callbacks(execute=True):
        response = laptop.post(reverse("accounts:sessions_end_others"), follow=True)

    # The member is told the sign-out is not confirmed yet, and that it completes itself.
    assert "not confirmed" in response.content.decode()
    assert OwedInvalidation.objects.exists()
    assert not signed_in_as(phone)
    assert not can_add_an_email(phone)
    assert not OwedInvalidation.objects.exists()  # paid before the copy could be trusted


def test_retrying_a_sign_out_once_redis_answers_confirms_it(
    own_redis, signed_in, member, django_capture_on_commit_callbacks, quick_retry
):
    laptop, phone = signed_in(), signed_in()
    with stalled(own_redis), django_capture_on_commit_callbacks(execute=True):
        laptop.post(reverse("accounts:sessions_end_others"), follow=True)

    response = laptop.post(reverse("accounts:sessions_end_others"), follow=True)

    assert "not confirmed" not in response.content.decode()
    assert not OwedInvalidation.objects.exists()
    assert not signed_in_as(phone)
    assert signed_in_as(laptop)


def test_a_login_does_not_drop_the_cached_access_or_identity(signed_in, member, redis):
    device = signed_in()
    device.get(reverse("web:home"))
    before = generation(member.pk)

    signed_in()  # another device signs in: only last_login changes on the row

    assert generation(member.pk) == before


# --- Access: the audit's five steps, on real commits -------------------------------


def reports_open(device: Client) -> bool:
    response = device.get(reverse("web:reports"))
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def post_webhook(webhook_url: str, fake_stripe, event_type: str, obj: dict) -> int:  # type: ignore[no-untyped-def,type-arg]
    event = build.event(fake_stripe, event_type, obj)
    stripe = Client(raise_request_exception=False)
    response = build.post_webhook(stripe, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET)
    return int(response.status_code)


@pytest.fixture
def paying(own_redis, subscribe, signed_in):  # type: ignore[no-untyped-def]
    sub = subscribe("pro_monthly")
    device = signed_in()
    assert reports_open(device)  # 1. granted, and the Access is cached
    return device, sub


@pytest.mark.django_db(transaction=True)
def test_a_revocation_whose_invalidation_failed_is_not_granted_again_when_redis_returns(
    own_redis, paying, fake_stripe, webhook_url, outage
):
    device, sub = paying
    with stalled(own_redis):  # 2. Redis unreachable: pages are decided from Postgres
        fake_stripe.update(sub["id"], status="past_due")
        invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
        # 3. the rows commit, the invalidation fails: 5xx, so Stripe delivers it again
        status = post_webhook(webhook_url, fake_stripe, "invoice.payment_failed", invoice)
        assert status >= 500
        assert not reports_open(device)  # 4. denied

    # 5. Redis is back with the Access cached before the outage: still denied, every time.
    assert [reports_open(device) for _ in range(5)] == [False] * 5


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_never_saw_the_outage_pays_what_redis_owes_within_the_interval(
    own_redis, paying, fake_stripe, webhook_url, settings, monkeypatch
):
    """Another worker (or host) that made no Redis call during the outage cannot know of
    it; it looks for owed invalidations every REDIS_REPLAY_INTERVAL. 0 is strict."""
    device, sub = paying
    settings.REDIS_REPLAY_INTERVAL = 0
    with stalled(own_redis):
        fake_stripe.update(sub["id"], status="past_due")
        invoice = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
        assert post_webhook(webhook_url, fake_stripe, "invoice.payment_failed", invoice) >= 500
    monkeypatch.setattr(guard, "redis_outage", type(guard.redis_outage)())

    assert not reports_open(device)


# --- Deactivation races a concurrent request ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_request_racing_a_deactivation_cannot_revive_the_session_later(
    signed_in, member, password
):
    phone = signed_in()
    assert signed_in_as(phone)
    from django.db import transaction

    with transaction.atomic():
        member.is_active = False
        member.save()
        # A request on another thread (its own Postgres connection) still sees the
        # committed session row and may put it back into Redis before the commit.
        racing = threading.Thread(target=lambda: phone.get(reverse("web:home")))
        racing.start()
        racing.join()

    member.is_active = True
    member.save()  # reactivated later: the ended session must stay ended

    assert not signed_in_as(phone)


def test_a_signing_key_revoked_while_redis_is_down_is_refused_then_and_after(
    own_redis, member, password, django_capture_on_commit_callbacks, quick_retry
):
    """Every process trusts its copy of the signing keys only under a generation read
    from Redis: with Redis down it reloads from Postgres, and once Redis answers the
    owed move of that generation is paid before an old copy is trusted again."""
    from apps.accounts.tokens import keys
    from apps.accounts.tokens.codec import TokenInvalidError
    from apps.accounts.tokens.verify import access_token_verify
    from tests.accounts import headless
    from tests.accounts import tokens_forge as forge

    keys.forget()
    token = headless.sign_in(Client(), email=member.email, password=password)["access_token"]
    access_token_verify(token)
    stale = keys.keyset()  # another process's copy, loaded under today's generation

    own_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        keys.key_revoke(forge.header_of(token)["kid"])
    assert OwedInvalidation.objects.filter(subject="signing_keys:all").exists()
    keys._current = stale
    with pytest.raises(TokenInvalidError):
        access_token_verify(token)

    own_redis.start()  # the generation in Redis has not moved yet: the move is owed
    keys._current = stale
    with pytest.raises(TokenInvalidError):
        access_token_verify(token)
    assert not OwedInvalidation.objects.filter(subject="signing_keys:all").exists()
    keys.forget()
