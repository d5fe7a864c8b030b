"""The access rule: one pure function from subscription facts to an Access value.

This is the only place that decides who may use what. It reads no database and no
clock of its own (`now` is passed in), so it is tested exhaustively.

| Stripe status                 | access                                                  |
|-------------------------------|---------------------------------------------------------|
| active, trialing              | granted while the item's period lasts                   |
|   ... with cancel_at_period_end | granted until the period ends, then denied (no webhook) |
| past_due                      | denied, unless within BILLING_PAST_DUE_GRACE of the     |
|                               | first failed payment (then granted, `in_grace`)         |
| anything else                 | denied                                                  |
| no subscription               | free tier                                               |
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

GRANTING_STATUSES = frozenset({"active", "trialing"})
FREE = "free"
NONE = "none"


@dataclass(frozen=True)
class ItemFacts:
    """One subscription item: what it sells and until when it is paid for."""

    plan: str  # the price's lookup key, else the product id
    features: frozenset[str]
    period_end: datetime | None


@dataclass(frozen=True)
class SubscriptionFacts:
    """What the rule needs to know about one Stripe subscription."""

    id: str
    status: str
    cancel_at_period_end: bool
    items: tuple[ItemFacts, ...]
    created: datetime | None = None
    past_due_since: datetime | None = None  # when the first unpaid invoice failed
    trial_end: datetime | None = None


@dataclass(frozen=True)
class Access:
    """What a user may use right now. Immutable; cheap to cache and compare."""

    status: str  # the deciding subscription's Stripe status, "free" or "none"
    plan: str | None = None
    features: frozenset[str] = field(default_factory=frozenset)
    valid_until: datetime | None = None
    cancel_at_period_end: bool = False
    in_grace: bool = False
    subscription_id: str | None = None
    trial_end: datetime | None = None

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def is_paid(self) -> bool:
        return self.plan is not None

    @property
    def is_past_due(self) -> bool:
        return self.status == "past_due"

    def as_json(self) -> dict[str, object]:
        """The public shape (API responses, other services)."""
        return {
            "status": self.status,
            "plan": self.plan,
            "features": sorted(self.features),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "cancel_at_period_end": self.cancel_at_period_end,
            "in_grace": self.in_grace,
        }


def _granted_until(
    sub: SubscriptionFacts, item: ItemFacts, *, now: datetime, grace: timedelta
) -> tuple[datetime | None, bool] | None:
    """(until, in_grace) when this item grants access at `now`, else None."""
    if sub.status in GRANTING_STATUSES:
        if item.period_end is not None and item.period_end <= now:
            return None  # the paid period is over, whatever the status still says
        return item.period_end, False
    if sub.status == "past_due" and grace > timedelta(0) and sub.past_due_since is not None:
        grace_end = sub.past_due_since + grace
        if now < grace_end:
            return grace_end, True
    return None


def decide(
    subscriptions: list[SubscriptionFacts],
    *,
    now: datetime,
    grace: timedelta,
    free_features: frozenset[str],
) -> Access:
    """Combine every subscription of one customer into one Access.

    Features are the union over all granting items; `valid_until` is the earliest
    moment one of them stops granting, so a cached Access never outlives its truth.
    """
    features: set[str] = set(free_features)
    plans: list[str] = []
    ends: list[datetime] = []
    in_grace = False
    deciding: SubscriptionFacts | None = None
    for sub in subscriptions:
        for item in sub.items:
            granted = _granted_until(sub, item, now=now, grace=grace)
            if granted is None:
                continue
            until, item_in_grace = granted
            features |= item.features
            plans.append(item.plan)
            if until is not None:
                ends.append(until)
            in_grace = in_grace or item_in_grace
            deciding = deciding or sub
    if deciding is not None:
        return Access(
            status=deciding.status,
            plan=plans[0],
            features=frozenset(features),
            valid_until=min(ends, default=None),
            cancel_at_period_end=deciding.cancel_at_period_end,
            in_grace=in_grace,
            subscription_id=deciding.id,
            trial_end=deciding.trial_end,
        )
    latest = max(subscriptions, key=lambda s: s.created or now, default=None)
    return Access(
        status=latest.status if latest else FREE,
        features=frozenset(free_features),
        subscription_id=latest.id if latest else None,
    )
