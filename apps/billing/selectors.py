"""Reads for billing: who is whose customer, their subscriptions, the plan catalog.

Everything here reads Postgres only (dj-stripe's rows); no call reaches Stripe.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from djstripe.models import Customer, Feature, Invoice, Price, Product, Subscription

from apps.accounts.models import User

# Statuses under which a subscription still exists for the customer (not ended).
LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid", "paused", "incomplete")


def customer_for_user(user: User) -> Customer | None:
    return (
        Customer.objects.filter(
            subscriber=user, livemode=settings.STRIPE_LIVE_MODE, date_purged__isnull=True
        )
        .order_by("-djstripe_created")
        .first()
    )


def user_ids_for_customer(customer_id: str) -> set[int]:
    """The users linked to a Stripe customer id (a purged customer has none)."""
    linked = Customer.objects.filter(id=customer_id, subscriber__isnull=False)
    return set(linked.values_list("subscriber_id", flat=True))


def user_ids_subscribed_to(
    *, product_id: str | None = None, price_id: str | None = None
) -> set[int]:
    """Users with a live subscription that has an item of this product (or price).

    Read from each subscription's stored Stripe data, not the item rows, which
    dj-stripe deletes along with a deleted product or price.
    """
    price: dict[str, str | None] = {"product": product_id} if product_id else {"id": price_id}
    subscriptions = Subscription.objects.filter(
        stripe_data__contains={"items": {"data": [{"price": price}]}},
        stripe_data__status__in=LIVE_STATUSES,
        customer__subscriber__isnull=False,
    )
    return set(subscriptions.values_list("customer__subscriber_id", flat=True))


def subscriptions_for_user(user_id: int) -> QuerySet[Subscription]:
    """The user's subscriptions with items, prices, products and features prefetched."""
    return (
        Subscription.objects.filter(
            customer__subscriber_id=user_id,
            customer__livemode=settings.STRIPE_LIVE_MODE,
            customer__date_purged__isnull=True,
        )
        .prefetch_related("items__price__product__features__entitlement_feature")
        .order_by("-created")
    )


def user_has_live_subscription_to(user: User, *, product_id: str) -> bool:
    return any(
        sub.stripe_data.get("status") in LIVE_STATUSES
        and any(item.price.product_id == product_id for item in sub.items.all())
        for sub in subscriptions_for_user(user.pk)
    )


def feature_names(keys: frozenset[str]) -> list[str]:
    """Feature display names for lookup keys, sorted; a key without a Feature row is titled."""
    found = Feature.objects.filter(stripe_data__lookup_key__in=keys)
    names = {feature.lookup_key: feature.name for feature in found}
    return sorted(names.get(key) or key.replace("_", " ").capitalize() for key in keys)


def invoices_for_user(user: User, *, limit: int = 24) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer__subscriber=user).order_by("-created")[:limit]


@dataclass(frozen=True)
class PlanPrice:
    id: str
    lookup_key: str | None
    interval: str  # "month" or "year"
    amount: int  # in the currency's smallest unit
    currency: str
    trial_days: int | None


@dataclass(frozen=True)
class Plan:
    product_id: str
    key: str  # product metadata `plan`, else the product id; what Access.plan holds
    name: str
    description: str
    order: int
    highlight: bool
    is_free: bool
    features: list[str] = field(default_factory=list)
    prices: dict[str, PlanPrice] = field(default_factory=dict)

    def is_current(self, access_plan: str | None) -> bool:
        """Does an Access's `plan` (a price lookup key or product id) name this plan?"""
        if access_plan is None:
            return self.is_free
        keys = {self.product_id, self.key} | {p.lookup_key for p in self.prices.values()}
        return access_plan in keys


def plan_price(price: Price) -> PlanPrice | None:
    recurring = price.stripe_data.get("recurring") or {}
    interval = recurring.get("interval")
    if interval not in ("month", "year"):
        return None
    return PlanPrice(
        id=price.id,
        lookup_key=price.lookup_key,
        interval=interval,
        amount=int(price.stripe_data.get("unit_amount") or 0),
        currency=price.currency,
        trial_days=recurring.get("trial_period_days")
        or _int_or_none((price.metadata or {}).get("trial_days")),
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def plans_for_pricing() -> list[Plan]:
    """Active products with their active monthly/yearly prices, in display order.

    Order, highlight and the free tier come from product metadata (`order`,
    `highlight`, `tier=free`); bullets from the product's Stripe features.
    """
    prices = Price.objects.filter(active=True, livemode=settings.STRIPE_LIVE_MODE)
    products = Product.objects.filter(
        active=True, livemode=settings.STRIPE_LIVE_MODE
    ).prefetch_related(Prefetch("prices", queryset=prices), "features__entitlement_feature")
    plans = []
    for product in products:
        metadata = product.metadata or {}
        plan_prices = [p for p in map(plan_price, product.prices.all()) if p]
        is_free = metadata.get("tier") == "free"
        if not plan_prices and not is_free:
            continue
        plans.append(
            Plan(
                product_id=product.id,
                key=metadata.get("plan") or product.id,
                name=product.name,
                description=product.stripe_data.get("description") or "",
                order=_int_or_none(metadata.get("order")) or 100,
                highlight=str(metadata.get("highlight", "")).lower() == "true",
                is_free=is_free,
                features=[f.entitlement_feature.name for f in product.features.all()],
                prices={p.interval: p for p in plan_prices},
            )
        )
    return sorted(plans, key=lambda plan: (plan.order, plan.name))


def price_for_checkout(price_id: str) -> Price | None:
    return (
        Price.objects.filter(id=price_id, active=True, livemode=settings.STRIPE_LIVE_MODE)
        .select_related("product")
        .first()
    )
