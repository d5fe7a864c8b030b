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

`Access.status` is a closed set that other services may rely on (`/api/session`, the
gating 403). Only the first three grant paid features; every value is one of these:

| status   | paid access | when                                                          |
|----------|-------------|---------------------------------------------------------------|
| active   | granted     | an active subscription inside its paid period                 |
| trialing | granted     | a trial inside its trial period                               |
| grace    | granted     | past_due, within BILLING_PAST_DUE_GRACE of the failed payment  |
| past_due | denied      | the subscription exists but needs a payment: past_due beyond  |
|          |             | grace, unpaid, incomplete, paused (fixed in the Portal)       |
| expired  | denied      | its period ran out though Stripe has not said canceled (e.g.  |
|          |             | cancel at period end, no webhook yet), incomplete_expired, or |
|          |             | a status this code does not know                              |
| canceled | denied      | Stripe canceled the subscription                              |
| free     | denied      | signed in, no subscription (free features only)               |
| none     | denied      | not signed in                                                 |

Stripe's own word stays in `Access.stripe_status`, for display only.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Stripe subscription statuses, as the rule reads them.
STRIPE_GRANTING = frozenset({"active", "trialing"})  # grant while the period lasts
# The subscription still exists for the customer (not ended): a second checkout for
# its product is refused; the past_due, unpaid, paused and incomplete ones need payment.
STRIPE_LIVE = STRIPE_GRANTING | {"past_due", "unpaid", "paused", "incomplete"}
STRIPE_NEEDS_PAYMENT = STRIPE_LIVE - STRIPE_GRANTING

# Access statuses (the closed set in the module docstring).
ACTIVE, TRIALING, GRACE = "active", "trialing", "grace"
PAST_DUE, EXPIRED, CANCELED, FREE, NONE = "past_due", "expired", "canceled", "free", "none"
GRANTED_STATUSES = frozenset({ACTIVE, TRIALING, GRACE})
DENIED_STATUSES = frozenset({PAST_DUE, EXPIRED, CANCELED, FREE, NONE})
STATUSES = GRANTED_STATUSES | DENIED_STATUSES
# The member holds a subscription they can change in the Portal (not a new Checkout).
SUBSCRIBED_STATUSES = GRANTED_STATUSES | {PAST_DUE}


def plan_key(*, product_id: str, metadata: Mapping[str, Any] | None) -> str:
    """The one definition of a plan's key (what `Access.plan` holds): the product's
    `plan` metadata, else the product id. A product's monthly and yearly prices are
    one plan, so a price's lookup key never names a plan."""
    key = (metadata or {}).get("plan")
    return str(key) if key else product_id


@dataclass(frozen=True)
class ItemFacts:
    """One subscription item: what it sells and until when it is paid for."""

    plan: str  # plan_key() of the item's product
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


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Access:
    """What a user may use right now. Immutable; cheap to cache and compare."""

    status: str  # one of STATUSES
    plan: str | None = None  # plan_key() of the granting plan; None when nothing grants
    features: frozenset[str] = field(default_factory=frozenset)
    valid_until: datetime | None = None
    cancel_at_period_end: bool = False
    subscription_id: str | None = None
    trial_end: datetime | None = None
    stripe_status: str | None = None  # the deciding subscription's Stripe status, for display

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Access.status must be one of {sorted(STATUSES)}: {self.status!r}")

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def is_granted(self) -> bool:
        return self.status in GRANTED_STATUSES

    @property
    def is_paid(self) -> bool:
        return self.plan is not None

    @property
    def in_grace(self) -> bool:
        return self.status == GRACE

    @property
    def is_past_due(self) -> bool:
        """A failed payment to fix, whether or not the grace period still grants."""
        return self.status in (PAST_DUE, GRACE)

    def as_json(self) -> dict[str, Any]:
        """The one codec: the public shape (API responses, other services) and what the
        cache stores. `from_json` reads it back."""
        return {
            "status": self.status,
            "stripe_status": self.stripe_status,
            "plan": self.plan,
            "features": sorted(self.features),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "cancel_at_period_end": self.cancel_at_period_end,
            "in_grace": self.in_grace,
            "trial_end": self.trial_end.isoformat() if self.trial_end else None,
            "subscription_id": self.subscription_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Access":
        """The Access `as_json` wrote; KeyError or ValueError for any other shape."""
        return cls(
            status=data["status"],
            stripe_status=data["stripe_status"],
            plan=data["plan"],
            features=frozenset(data["features"]),
            valid_until=_when(data["valid_until"]),
            cancel_at_period_end=bool(data["cancel_at_period_end"]),
            trial_end=_when(data["trial_end"]),
            subscription_id=data["subscription_id"],
        )


def _granted_until(
    sub: SubscriptionFacts, item: ItemFacts, *, now: datetime, grace: timedelta
) -> tuple[bool, datetime | None]:
    """(does this item grant at `now`, until when: None for no end)."""
    if sub.status in STRIPE_GRANTING:
        if item.period_end is not None and item.period_end <= now:
            return False, None  # the paid period is over, whatever the status still says
        return True, item.period_end
    if sub.status == "past_due" and grace > timedelta(0) and sub.past_due_since is not None:
        grace_end = sub.past_due_since + grace
        if now < grace_end:
            return True, grace_end
    return False, None


def _denied_status(sub: SubscriptionFacts | None) -> str:
    """The Access status of a customer none of whose subscriptions grants."""
    if sub is None:
        return FREE
    if sub.status in STRIPE_NEEDS_PAYMENT:
        return PAST_DUE
    if sub.status == "canceled":
        return CANCELED
    # active/trialing past their period, incomplete_expired, or a status new to us:
    # never "active" when nothing grants.
    return EXPIRED


def still_subscribed(sub: SubscriptionFacts, *, now: datetime) -> bool:
    """Does the subscription still exist for the customer? A live Stripe status, and not
    scheduled to end at a moment already past (cancel at period end without a webhook)."""
    if sub.status not in STRIPE_LIVE:
        return False
    ends = [item.period_end for item in sub.items]
    ran_out = bool(ends) and all(end is not None and end <= now for end in ends)
    return not (sub.cancel_at_period_end and ran_out)


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
    The first granting subscription decides status and plan; when none grants, the
    newest one decides the (denied) status.
    """
    features: set[str] = set(free_features)
    plans: list[str] = []
    ends: list[datetime] = []
    deciding: SubscriptionFacts | None = None
    for sub in subscriptions:
        for item in sub.items:
            grants, until = _granted_until(sub, item, now=now, grace=grace)
            if not grants:
                continue
            features |= item.features
            plans.append(item.plan)
            if until is not None:
                ends.append(until)
            deciding = deciding or sub
    if deciding is not None:
        return Access(
            status=deciding.status if deciding.status in STRIPE_GRANTING else GRACE,
            plan=plans[0],
            features=frozenset(features),
            valid_until=min(ends, default=None),
            cancel_at_period_end=deciding.cancel_at_period_end,
            subscription_id=deciding.id,
            trial_end=deciding.trial_end,
            stripe_status=deciding.status,
        )
    latest = max(subscriptions, key=lambda s: s.created or now, default=None)
    return Access(
        status=_denied_status(latest),
        features=frozenset(free_features),
        subscription_id=latest.id if latest else None,
        stripe_status=latest.status if latest else None,
    )
