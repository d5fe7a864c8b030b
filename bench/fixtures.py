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


def paying_member() -> dict[str, str]:
    """Returns the member's session cookie value, a JWT for the reference view, and id."""
    fake = install_fake_stripe()
    pro = build.product(fake, key="pro", name="Pro", features=["reports", "exports"])
    price = build.price(fake, product_id=pro["id"], lookup_key="pro_monthly", amount=1200)
    services.plans_sync()
    user, _ = User.objects.get_or_create(email=EMAIL)
    user.set_password("bench-password-not-secret")
    user.save()
    Customer.objects.filter(subscriber=user).delete()
    customer = build.customer(fake, user_id=user.pk, email=user.email)
    Customer.sync_from_stripe_data(customer, api_key=settings.STRIPE_TEST_SECRET_KEY)
    sub = build.subscription(fake, customer_id=customer["id"], price_ids=[price["id"]])
    services.subscription_sync(data=sub)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    token = jwt.encode(
        {"sub": str(user.pk), "features": ["reports", "exports"], "exp": int(time.time()) + 3600},
        settings.SECRET_KEY,
        algorithm="HS256",
    )
    return {
        "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "jwt": token,
        "user_id": str(user.pk),
        "subscription": sub["id"],
        "customer": customer["id"],
    }
