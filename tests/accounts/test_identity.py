"""The hot path: a gated page for a paying user costs no SQL and at most one Redis round
trip (none when this thread's near cache already holds the member's keys)."""

import pytest
from django.urls import reverse

from apps.accounts import identity
from apps.core import state
from apps.core.near_cache import near_cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def paying_member(client, user, subscribe):  # type: ignore[no-untyped-def]
    subscribe("pro_monthly")
    client.force_login(user)
    client.get(reverse("web:reports"))  # warms the snapshot and the Access
    return user


def test_gated_page_on_a_warm_cache_makes_no_sql_query(
    client, paying_member, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(reverse("web:reports"))
    assert response.status_code == 200


def test_gated_page_on_a_cold_worker_thread_makes_one_redis_round_trip(
    client, paying_member, redis_round_trips
):
    near_cache().clear()  # e.g. this worker's first request for this member
    response = client.get(reverse("web:reports"))
    assert response.status_code == 200
    assert redis_round_trips == ["MGET"]  # session, identity snapshot and Access together


def test_a_repeat_gated_page_makes_no_redis_round_trip(client, paying_member, redis_round_trips):
    client.get(reverse("web:reports"))
    redis_round_trips.clear()
    response = client.get(reverse("web:reports"))
    assert response.status_code == 200
    assert redis_round_trips == []  # the near cache's copies, vouched for by Redis


def test_anonymous_visitors_pay_nothing_for_auth_or_access(
    client, db, redis_round_trips, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert redis_round_trips == []


def test_snapshot_never_holds_the_password_hash(user):
    payload = identity.snapshot_of(user)
    assert user.password not in payload.values()
    assert set(payload) == {*identity.FIELDS, "auth_hash"}


def test_snapshot_user_loads_other_fields_lazily_and_saves_only_its_own(
    user, django_assert_num_queries
):
    snap_user = identity.user_from_snapshot(identity.snapshot_of(user))
    with django_assert_num_queries(0):
        assert snap_user.email == user.email
    snap_user.name = "Renamed"
    snap_user.save()
    user.refresh_from_db()
    assert user.name == "Renamed"
    assert user.check_password("correct horse battery staple")  # the password was not overwritten


def _snapshot_cached(user_id: int) -> bool:
    return state.read(user_id).get("user") is not None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda u: (setattr(u, "name", "New Name"), u.save()), id="save"),
        pytest.param(lambda u: (u.set_password("another secret 123"), u.save()), id="password"),
        pytest.param(lambda u: (setattr(u, "is_active", False), u.save()), id="deactivate"),
        pytest.param(lambda u: u.delete(), id="delete"),
    ],
)
def test_any_change_to_the_user_row_drops_the_snapshot(
    client, paying_member, change, django_capture_on_commit_callbacks
):
    assert _snapshot_cached(paying_member.pk)
    with django_capture_on_commit_callbacks(execute=True):
        change(paying_member)
    assert not _snapshot_cached(paying_member.pk)


def test_a_renamed_user_is_shown_by_the_next_request(
    client, paying_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        paying_member.name = "Ada Lovelace"
        paying_member.save()
    response = client.get(reverse("api_session"))
    assert response.json()["user"]["name"] == "Ada Lovelace"


def test_deactivated_user_is_anonymous_on_the_next_request(
    client, paying_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        paying_member.is_active = False
        paying_member.save()
    assert client.get(reverse("api_session")).status_code == 401


def test_password_change_elsewhere_signs_this_session_out(
    client, paying_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        paying_member.set_password("a brand new password 42")
        paying_member.save()
    assert client.get(reverse("api_session")).status_code == 401


def test_a_stale_snapshot_with_an_old_auth_hash_cannot_vouch_for_a_session(client, paying_member):
    """Even if a snapshot survived, a mismatching hash falls back to Django's own check."""
    forged = identity.snapshot_of(paying_member) | {"auth_hash": "not-the-session-hash"}
    state.read(paying_member.pk).put("user", forged, ttl=60)
    response = client.get(reverse("api_session"))
    assert response.status_code == 200  # Django verified the real hash from Postgres
    assert _snapshot_cached(paying_member.pk)


def test_a_signed_in_session_key_names_its_user(client, user):
    client.force_login(user)
    key = client.session.session_key
    assert key.startswith(f"{user.pk}-")
    assert len(key) == 40


def test_a_session_without_the_user_prefix_still_works_in_one_redis_round_trip(
    client, user, subscribe, redis_round_trips
):
    """Sessions made before keys named their user keep working."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    subscribe("pro_monthly")
    store = import_module("django.contrib.sessions.backends.cached_db").SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    client.get(reverse("web:reports"))  # warm: writes the snapshot and the Access
    client.get(reverse("web:reports"))  # re-reads them, so Redis tracks them for this thread
    redis_round_trips.clear()
    response = client.get(reverse("web:reports"))
    assert response.status_code == 200
    assert redis_round_trips == ["GET"]  # the session; identity and Access are near copies


def test_a_forged_key_naming_another_user_grants_nothing(client, paying_member):
    from django.conf import settings

    client.cookies[settings.SESSION_COOKIE_NAME] = f"{paying_member.pk}-" + "x" * 32
    response = client.get(reverse("api_session"))
    assert response.status_code == 401
    assert client.get(reverse("web:reports")).status_code == 302
