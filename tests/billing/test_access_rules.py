"""The access rule (`decide`) on its own: pure facts in, an Access out; no database."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.billing.access import rules
from apps.billing.access.rules import (
    DENIED_STATUSES,
    FREE,
    GRANTED_STATUSES,
    Access,
    ItemFacts,
    SubscriptionFacts,
    decide,
    plan_key,
    still_subscribed,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FREE_FEATURES = frozenset({"community"})
PRO = frozenset({"reports", "exports"})
TEAM = frozenset({"reports", "exports", "team_space"})

STATUSES = [
    "active",
    "trialing",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "paused",
]
PERIODS = {
    "before_period_end": NOW + timedelta(days=10),
    "after_period_end": NOW - timedelta(days=1),
}
# (grace setting, when the first payment failed)
GRACES = {
    "no_grace": (timedelta(0), NOW - timedelta(hours=1)),
    "inside_grace": (timedelta(days=3), NOW - timedelta(days=1)),
    "outside_grace": (timedelta(days=3), NOW - timedelta(days=4)),
}


def sub(
    status: str = "active",
    *,
    features: frozenset[str] = PRO,
    period_end: datetime | None = NOW + timedelta(days=10),
    plan: str = "pro",
    **fields: object,
) -> SubscriptionFacts:
    fields.setdefault("id", f"sub_{status}_{plan}")
    fields.setdefault("cancel_at_period_end", False)
    item = ItemFacts(plan=plan, features=features, period_end=period_end)
    return SubscriptionFacts(status=status, items=(item,), **fields)  # type: ignore[arg-type]


def decide_now(subscriptions: list[SubscriptionFacts], grace: timedelta = timedelta(0)) -> Access:
    return decide(subscriptions, now=NOW, grace=grace, free_features=FREE_FEATURES)


def expected_grant(status: str, period: str, grace: str) -> tuple[bool, bool]:
    """(granted, in_grace) as docs/architecture.md's table states it."""
    if status in ("active", "trialing"):
        return period == "before_period_end", False
    if status == "past_due" and grace == "inside_grace":
        return True, True
    return False, False


def expected_status(status: str, granted: bool, in_grace: bool) -> str:
    """The closed Access status set (rules.py's docstring) for one subscription."""
    if granted:
        return "grace" if in_grace else status
    if status in ("past_due", "unpaid", "paused", "incomplete"):
        return "past_due"
    return "canceled" if status == "canceled" else "expired"


CASES = [
    pytest.param(status, period, cancel, grace, id=f"{status}-{period}-cancel={cancel}-{grace}")
    for status, period, cancel, grace in itertools.product(STATUSES, PERIODS, [False, True], GRACES)
]


@pytest.mark.parametrize(("status", "period", "cancel_at_period_end", "grace"), CASES)
def test_rule_grants_or_denies_by_status_period_cancellation_and_grace(
    status, period, cancel_at_period_end, grace
):
    grace_setting, failed_at = GRACES[grace]
    facts = sub(
        status,
        period_end=PERIODS[period],
        cancel_at_period_end=cancel_at_period_end,
        past_due_since=failed_at if status == "past_due" else None,
    )
    granted, in_grace = expected_grant(status, period, grace)

    access = decide_now([facts], grace=grace_setting)

    assert access.status == expected_status(status, granted, in_grace)
    assert access.stripe_status == status
    assert access.is_granted is granted
    assert access.in_grace is in_grace
    assert access.subscription_id == facts.id
    if granted:
        assert access.features == PRO | FREE_FEATURES
        assert access.plan == "pro"
        assert access.cancel_at_period_end is cancel_at_period_end
        assert access.valid_until is not None
        assert access.valid_until > NOW
        grace_end = failed_at + grace_setting
        assert access.valid_until == (grace_end if in_grace else PERIODS[period])
    else:
        assert access.features == FREE_FEATURES
        assert access.plan is None
        assert not access.is_paid


def test_past_due_without_a_known_failure_time_gets_no_grace():
    access = decide_now([sub("past_due", past_due_since=None)], grace=timedelta(days=3))

    assert not access.has("reports")
    assert not access.in_grace


def test_active_subscription_without_a_period_end_is_granted_with_no_expiry():
    access = decide_now([sub("active", period_end=None)])

    assert access.has("reports")
    assert access.valid_until is None


def test_no_subscription_is_the_free_tier_with_free_features_only():
    access = decide_now([])

    assert access == Access(status=FREE, features=FREE_FEATURES)
    assert not access.is_paid


def test_several_subscriptions_union_their_features_and_expire_at_the_earliest_end():
    soon, later = NOW + timedelta(days=2), NOW + timedelta(days=20)
    pro = sub("active", features=PRO, period_end=later, plan="pro", id="sub_pro")
    team = sub("trialing", features=TEAM, period_end=soon, plan="team", id="sub_team")
    lapsed = sub("canceled", features=frozenset({"archive"}), plan="old", id="sub_old")

    access = decide_now([pro, team, lapsed])

    assert access.features == TEAM | FREE_FEATURES
    assert "archive" not in access.features
    assert access.valid_until == soon
    assert access.plan == "pro"
    assert access.subscription_id == "sub_pro"


def test_denied_access_reports_the_newest_subscriptions_status():
    old = sub("canceled", id="sub_old", created=NOW - timedelta(days=90))
    new = sub("unpaid", id="sub_new", created=NOW - timedelta(days=5))

    access = decide_now([old, new])

    assert (access.status, access.subscription_id) == ("past_due", "sub_new")
    assert access.stripe_status == "unpaid"
    assert access.features == FREE_FEATURES


def test_cancel_at_period_end_after_the_period_reads_expired_never_active():
    ended = sub("active", cancel_at_period_end=True, period_end=NOW - timedelta(minutes=1))

    access = decide_now([ended])

    assert access.status == "expired"
    assert access.status not in GRANTED_STATUSES
    assert access.stripe_status == "active"
    assert access.plan is None


def test_an_unknown_stripe_status_is_denied_as_expired():
    access = decide_now([sub("some_future_status")])

    assert (access.status, access.plan) == ("expired", None)


def test_granted_and_denied_statuses_split_the_closed_set():
    assert GRANTED_STATUSES.isdisjoint(DENIED_STATUSES)
    assert GRANTED_STATUSES | DENIED_STATUSES == rules.STATUSES
    assert {
        "active",
        "trialing",
        "grace",
        "past_due",
        "expired",
        "canceled",
        "free",
        "none",
    } == rules.STATUSES


def test_access_refuses_a_status_outside_the_closed_set():
    with pytest.raises(ValueError, match="unpaid"):
        Access(status="unpaid")


def test_access_json_round_trips_every_field():
    access = Access(
        status="grace",
        plan="pro",
        features=frozenset({"reports", "community"}),
        valid_until=NOW + timedelta(days=2),
        cancel_at_period_end=True,
        subscription_id="sub_1",
        trial_end=NOW - timedelta(days=20),
        stripe_status="past_due",
    )

    data = access.as_json()

    assert Access.from_json(data) == access
    assert data["status"] == "grace"
    assert data["in_grace"] is True
    assert data["features"] == ["community", "reports"]
    assert data["valid_until"] == "2026-03-03T12:00:00+00:00"


def test_plan_key_is_the_product_plan_metadata_else_the_product_id():
    assert plan_key(product_id="prod_1", metadata={"plan": "pro"}) == "pro"
    assert plan_key(product_id="prod_1", metadata={"plan": ""}) == "prod_1"
    assert plan_key(product_id="prod_1", metadata=None) == "prod_1"


@pytest.mark.parametrize(
    ("status", "cancel", "period_end", "expected"),
    [
        ("active", False, NOW + timedelta(days=1), True),
        ("past_due", False, NOW - timedelta(days=1), True),
        ("active", False, NOW - timedelta(days=1), True),  # Stripe renews: it still exists
        ("active", True, NOW + timedelta(days=1), True),
        ("active", True, NOW - timedelta(days=1), False),  # ran out, webhook not here yet
        ("canceled", False, NOW + timedelta(days=1), False),
        ("incomplete_expired", False, NOW + timedelta(days=1), False),
    ],
)
def test_still_subscribed_ends_at_a_scheduled_cancellation(status, cancel, period_end, expected):
    facts = sub(status, cancel_at_period_end=cancel, period_end=period_end)

    assert still_subscribed(facts, now=NOW) is expected


# --- property: nothing is granted that no item pays for -------------------------------

FEATURE_KEYS = ["reports", "exports", "team_space", "archive", "community"]
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001  (hypothesis wants naive bounds)
    max_value=datetime(2027, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
items = st.builds(
    ItemFacts,
    plan=st.sampled_from(["pro", "team", "old"]),
    features=st.frozensets(st.sampled_from(FEATURE_KEYS)),
    period_end=st.none() | moments,
)
subscriptions = st.builds(
    SubscriptionFacts,
    id=st.text("abc123", min_size=1, max_size=6).map(lambda s: f"sub_{s}"),
    status=st.sampled_from(STATUSES),
    cancel_at_period_end=st.booleans(),
    items=st.lists(items, max_size=3).map(tuple),
    created=st.none() | moments,
    past_due_since=st.none() | moments,
)
graces = st.sampled_from([timedelta(0), timedelta(hours=12), timedelta(days=3)])


def granting_end(facts: SubscriptionFacts, item: ItemFacts, *, now, grace):  # type: ignore[no-untyped-def]
    """(grants, until) for one item, straight from the design's table."""
    if facts.status in ("active", "trialing"):
        return (item.period_end is None or item.period_end > now), item.period_end
    if facts.status == "past_due" and grace and facts.past_due_since is not None:
        end = facts.past_due_since + grace
        return now < end, end
    return False, None


@given(subs=st.lists(subscriptions, max_size=4), now=moments, grace=graces)
def test_every_paid_feature_comes_from_a_granting_item_and_valid_until_never_outlives_it(
    subs, now, grace
):
    access = decide(subs, now=now, grace=grace, free_features=FREE_FEATURES)

    granting = [
        (item, until)
        for facts in subs
        for item in facts.items
        for grants, until in [granting_end(facts, item, now=now, grace=grace)]
        if grants
    ]
    paid = set().union(*(item.features for item, _ in granting))
    assert access.features == FREE_FEATURES | paid
    for _, until in granting:
        if until is not None:
            assert access.valid_until is not None
            assert access.valid_until <= until
    if access.valid_until is not None:
        assert access.valid_until > now
    assert access.is_paid == bool(granting)
    assert access.is_granted == bool(granting)
    assert access.status in rules.STATUSES
