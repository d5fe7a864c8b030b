"""Bench data: a Pro catalog and a paying member, built through the same fake Stripe API
and dj-stripe sync as the tests (nothing leaves the machine)."""

import time

import jwt
import stripe
from django.conf import settings
from django.test import Client
from djstripe.models import Customer

from apps.accounts.models import User
from apps.billing import services
from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import FakeStripe

EMAIL = "bench-member@example.com"
FAKE = FakeStripe()


def install_fake_stripe() -> FakeStripe:
    stripe.default_http_client = FAKE
    stripe.max_network_retries = 0
    return FAKE


def pro_price(fake: FakeStripe) -> str:
    """A Pro product (reports, exports) with a monthly price, synced; returns the price id."""
    pro = build.product(fake, key="pro", name="Pro", features=["reports", "exports"])
    price = build.price(fake, product_id=pro["id"], lookup_key="pro_monthly", amount=1200)
    services.plans_sync()
    return str(price["id"])


def member(fake: FakeStripe, *, email: str, price_id: str) -> tuple[User, str, str]:
    """A signed-in member with an active subscription: (user, session cookie, sub id)."""
    user, _ = User.objects.get_or_create(email=email)
    Customer.objects.filter(subscriber=user).delete()
    customer = build.customer(fake, user_id=user.pk, email=user.email)
    Customer.sync_from_stripe_data(customer, api_key=settings.STRIPE_TEST_SECRET_KEY)
    sub = build.subscription(fake, customer_id=customer["id"], price_ids=[price_id])
    services.subscription_sync(data=sub)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return user, client.cookies[settings.SESSION_COOKIE_NAME].value, str(sub["id"])


def paying_member() -> dict[str, str]:
    """Returns the member's session cookie value, a JWT for the reference view, and id."""
    fake = install_fake_stripe()
    user, session, sub_id = member(fake, email=EMAIL, price_id=pro_price(fake))
    token = jwt.encode(
        {"sub": str(user.pk), "features": ["reports", "exports"], "exp": int(time.time()) + 3600},
        settings.SECRET_KEY,
        algorithm="HS256",
    )
    return {"session": session, "jwt": token, "user_id": str(user.pk), "subscription": sub_id}
