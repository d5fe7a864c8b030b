"""What a webhook costs the member's next requests in Redis round trips: the first
recomputes (its MGET misses, Postgres decides, the values are written back), and the
one after is a near-cache hit again, with no round trip at all."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _patient_liveness(settings) -> None:  # type: ignore[no-untyped-def]
    """Round trips are the subject here, not the liveness bound: on a loaded machine
    100 ms can pass between two requests, and a copy that old is refetched."""
    settings.REDIS_NEAR_CACHE_LIVENESS = 60.0


@pytest.fixture
def pro(subscribe) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return subscribe("pro_monthly")


@pytest.fixture
def member(user, pro) -> Client:  # type: ignore[no-untyped-def]
    """A Pro member whose gated page is a near-cache hit on this thread."""
    device = Client()
    device.force_login(user)
    for _ in range(3):
        assert device.get(reverse("web:reports")).status_code == 200
    return device


def granted(device: Client) -> bool:
    response = device.get(reverse("web:reports"))
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_warm_member_s_gated_page_makes_no_round_trip(member, redis_round_trips):
    assert granted(member)
    assert redis_round_trips == []


@pytest.mark.parametrize("status", ["canceled", "past_due", "active"])
def test_after_a_webhook_one_request_recomputes_and_the_next_is_a_near_cache_hit(
    member, pro, fake_stripe, send_event, redis_round_trips, status
):
    """A revocation and a change that keeps access (active again) cost the same: one
    MGET that misses, then the writes of the recomputed values."""
    changed = fake_stripe.update(pro["id"], status=status)
    assert send_event("customer.subscription.updated", changed).status_code == 200

    redis_round_trips.clear()
    assert granted(member) is (status == "active")
    recompute = list(redis_round_trips)
    assert recompute[0] == "MGET", recompute
    assert "MGET" not in recompute[1:], recompute

    redis_round_trips.clear()
    assert granted(member) is (status == "active")
    assert redis_round_trips == [], f"after the recompute {recompute}"
