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


def _is_sellable(price: Price) -> bool:
    """Only prices marked `sellable=true` in their Stripe metadata may be sold: an active
    price alone may be a legacy, hidden or regional one that must not be offered."""
    return str((price.metadata or {}).get("sellable", "")).lower() == "true"


def _default_price_id(product: Product) -> str | None:
    default = product.stripe_data.get("default_price")
    return default.get("id") if isinstance(default, dict) else default


def _created(price: Price) -> int:
    return int(price.stripe_data.get("created") or 0)


def _offered_prices(product: Product) -> dict[str, PlanPrice]:
    """One sellable price per interval: the product's default price when it is one,
    else the newest (then the highest id), so the choice never depends on query order."""
    default_id = _default_price_id(product)
    candidates = sorted(
        (price for price in product.prices.all() if _is_sellable(price)),
        key=lambda price: (price.id == default_id, _created(price), price.id),
    )
    offered: dict[str, PlanPrice] = {}
    for price in candidates:  # ascending, so the preferred price is written last
        plan = plan_price(price)
        if plan is not None:
            offered[plan.interval] = plan
    return offered


def _display_order(metadata: dict[str, object]) -> int:
    order = _int_or_none(metadata.get("order"))
    return 100 if order is None else order  # `or 100` would send order 0 to the end


def plans_for_pricing() -> list[Plan]:
    """Active products with their offered monthly/yearly prices, in display order.

    Order, highlight and the free tier come from product metadata (`order`,
    `highlight`, `tier=free`); bullets from the product's Stripe features. A paid
    product without a sellable price is left out.
    """
    prices = Price.objects.filter(active=True, livemode=settings.STRIPE_LIVE_MODE)
    products = Product.objects.filter(
        active=True, livemode=settings.STRIPE_LIVE_MODE
    ).prefetch_related(Prefetch("prices", queryset=prices), "features__entitlement_feature")
    plans = []
    for product in products:
        metadata = product.metadata or {}
        offered = _offered_prices(product)
        is_free = metadata.get("tier") == "free"
        if not offered and not is_free:
            continue
        plans.append(
            Plan(
                product_id=product.id,
                key=metadata.get("plan") or product.id,
                name=product.name,
                description=product.stripe_data.get("description") or "",
                order=_display_order(metadata),
                highlight=str(metadata.get("highlight", "")).lower() == "true",
                is_free=is_free,
                features=[f.entitlement_feature.name for f in product.features.all()],
                prices=offered,
            )
        )
    return sorted(plans, key=lambda plan: (plan.order, plan.name))


def price_for_checkout(price_id: str) -> Price | None:
    """The price if the pricing page offers it; any other price, even an active one,
    cannot be bought (a forged form cannot pick a legacy or hidden price)."""
    offered = {
        price.id
        for plan in plans_for_pricing()
        if not plan.is_free
        for price in plan.prices.values()
    }
    if price_id not in offered:
        return None
    return Price.objects.filter(id=price_id).select_related("product").first()
