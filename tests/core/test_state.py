"""The access-state layer: what one request reads from Redis, and what a subject owns."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from redis.crc import key_slot

from apps.accounts import services
from apps.core import state
from apps.core.near_cache import NearCache, near_cache
from apps.core.state.invalidation import GENERATION_TTL
from tests.accounts.test_session_lifecycle import device, sign_in
from tests.state_helpers import generation, session_copy_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def mget_keys(monkeypatch) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The keys of every MGET the near cache sends."""
    sent: list[list[str]] = []
    real = NearCache._fetch

    def recording(self, thread, keys):  # type: ignore[no-untyped-def]
        sent.append(list(keys))
        return real(self, thread, keys)

    monkeypatch.setattr(NearCache, "_fetch", recording)
    return sent


def test_a_gated_request_reads_one_mget_in_one_cluster_slot(member, password, mget_keys):
    browser = device("Browser")
    sign_in(browser, email=member.email, password=password)
    near_cache().clear()  # signing in left this thread's copies warm: read as a cold thread
    mget_keys.clear()

    browser.get(reverse("web:reports"))

    assert len(mget_keys) == 1
    (keys,) = mget_keys
    assert len(keys) == 5  # user generation, identity, Access, session generation, session
    assert all(f"{{u:{member.pk}}}" in key for key in keys)
    assert len({key_slot(key.encode()) for key in keys}) == 1


def test_redis_key_names_never_carry_a_session_key(member, password, redis):
    session_key = sign_in(device("Browser"), email=member.email, password=password)
    assert not [key for key in redis.keys("*") if session_key.encode() in key]
    assert redis.exists(session_copy_key(session_key))


def test_a_session_copy_never_outlives_the_generations_that_guard_it(member, password, redis):
    """Found in the rewrite: copies lived as long as the session (14 days), generations a
    week after their last move, so a copy whose DEL was lost could be read again once its
    guard expired back to 0. Every value now lives an hour at most."""
    session_key = sign_in(device("Browser"), email=member.email, password=password)
    ttl = redis.ttl(session_copy_key(session_key))
    assert 0 < ttl <= state.VALUE_TTL_CEILING < GENERATION_TTL


@pytest.fixture
def member(user):  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.mark.django_db(transaction=True)
def test_ending_one_device_leaves_the_others_cached_state(member, password):
    phone, laptop = device("Phone"), device("Laptop")
    sign_in(phone, email=member.email, password=password)
    sign_in(laptop, email=member.email, password=password)
    laptop.get(reverse("web:home"))
    before = generation(member.pk)
    phone_session = member.usersession_set.order_by("pk").first()

    services.session_end(user=member, user_session_id=phone_session.pk)

    assert generation(member.pk) == before  # the laptop's identity and Access stay cached
    assert phone.get(reverse("web:home")).wsgi_request.user.is_anonymous
    assert laptop.get(reverse("web:home")).wsgi_request.user == member


def test_subject_names_round_trip_through_an_owed_row():
    for subject in (state.user(42), state.session(42, "42-" + "k" * 37)):
        assert state.subjects.parse(subject.name) == subject
        assert len(subject.name) <= 64  # OwedInvalidation.subject


def test_a_request_that_revokes_sees_it_for_the_rest_of_itself(user):
    snapshot = state.read(user.pk)
    snapshot.put("access", {"x": 1}, ttl=60)
    snapshot = state.read(user.pk)
    assert snapshot.get("access") is not None

    state.invalidate([state.user(user.pk)])  # e.g. a checkout completing in this request

    assert snapshot.get("access") is None


def test_another_threads_invalidation_leaves_this_requests_snapshot(user, django_user_model):
    import threading

    other = django_user_model.objects.create_user(email="other@example.com", password="x")
    state.read(user.pk).put("access", {"x": 1}, ttl=60)
    snapshot = state.read(user.pk)
    worker = threading.Thread(target=lambda: state.invalidate([state.user(other.pk)]))
    worker.start()
    worker.join()

    assert snapshot.get("access") is not None  # no needless recompute for this member
