"""Shared fixtures. Postgres and Redis are real; Redis db 15 is flushed around each test.

Stripe is replaced only at the HTTP boundary (tests/billing/fake_stripe.py), so
dj-stripe and our billing code run for real.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe
from django.conf import settings
from django.urls import reverse
from django_redis import get_redis_connection

from apps.accounts import last_seen
from apps.core.near_cache import near_cache
from tests.accounts.factories import UserFactory
from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import FakeStripe
from tests.redis_counter import count_round_trips


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    # FLUSHDB also reaches the near cache as an invalidation push; clearing it here
    # too means no test depends on when that push is read.
    redis = get_redis_connection("default")
    redis.flushdb()
    near_cache().clear()
    last_seen.forget()  # what this process remembers sending went with the flush
    yield
    redis.flushdb()
    near_cache().clear()
    last_seen.forget()


@pytest.fixture
def redis():  # type: ignore[no-untyped-def]
    """The raw redis-py client on the test database."""
    return get_redis_connection("default")


@pytest.fixture
def redis_round_trips() -> Iterator[list[str]]:
    """Every Redis round trip any client makes during the test (PIPELINE for a pipeline)."""
    with count_round_trips() as sent:
        yield sent


@pytest.fixture
def password() -> str:
    return "correct horse battery staple"


@pytest.fixture
def user(db, password):  # type: ignore[no-untyped-def]
    return UserFactory(password=password)


# --- Stripe ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fake_stripe(monkeypatch) -> FakeStripe:  # type: ignore[no-untyped-def]
    """Every test talks to the fake Stripe API; nothing can reach the network."""
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return fake


@pytest.fixture
def catalog(db, fake_stripe) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Pro (reports, exports) and Team (+ team_space), monthly and yearly, synced."""
    from apps.billing import services

    pro = build.product(
        fake_stripe, key="pro", name="Pro", features=["reports", "exports"], order="2"
    )
    team = build.product(
        fake_stripe,
        key="team",
        name="Team",
        features=["reports", "exports", "team_space"],
        order="3",
    )
    prices = {
        "pro_monthly": build.price(
            fake_stripe, product_id=pro["id"], lookup_key="pro_monthly", amount=1200, trial_days=14
        ),
        "pro_yearly": build.price(
            fake_stripe,
            product_id=pro["id"],
            lookup_key="pro_yearly",
            amount=12000,
            interval="year",
        ),
        "team_monthly": build.price(
            fake_stripe, product_id=team["id"], lookup_key="team_monthly", amount=4900
        ),
    }
    services.plans_sync()
    return {key: price["id"] for key, price in prices.items()}


@pytest.fixture
def webhook_url(db) -> str:  # type: ignore[no-untyped-def]
    from apps.billing import services

    endpoint, _ = services.webhook_endpoint_ensure(base_url="http://testserver")
    return reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})


@pytest.fixture
def send_event(
    client, webhook_url, fake_stripe, django_capture_on_commit_callbacks
) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """send_event("invoice.payment_failed", obj) -> the endpoint's response.

    Tests run inside a transaction that never commits, so the commit callbacks the
    webhook scheduled (cache invalidation, mail) are run as a real commit would.
    """

    def send(event_type: str, obj: dict[str, Any], **kwargs: Any) -> Any:
        event = build.event(fake_stripe, event_type, obj)
        with django_capture_on_commit_callbacks(execute=True):
            return build.post_webhook(
                client, webhook_url, event, secret=settings.STRIPE_WEBHOOK_SECRET, **kwargs
            )

    return send


@pytest.fixture
def stripe_customer(user, fake_stripe) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The user's Customer, in the fake Stripe and synced locally (as after checkout)."""
    from djstripe.models import Customer

    obj = build.customer(fake_stripe, user_id=user.pk, email=user.email)
    Customer.sync_from_stripe_data(obj, api_key=settings.STRIPE_TEST_SECRET_KEY)
    return obj


@pytest.fixture
def subscribe(fake_stripe, stripe_customer, catalog) -> Callable[..., dict[str, Any]]:  # type: ignore[no-untyped-def]
    """subscribe("pro_monthly", status=...) -> a subscription, stored in the fake and synced."""
    from apps.billing import services

    def make(*lookup_keys: str, **fields: Any) -> dict[str, Any]:
        sub = build.subscription(
            fake_stripe,
            customer_id=stripe_customer["id"],
            price_ids=[catalog[key] for key in lookup_keys or ("pro_monthly",)],
            **fields,
        )
        services.subscription_sync(data=sub)
        return sub

    return make


@pytest.fixture
def demo_store(settings, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The offline demo Stripe on a temporary state file, as this process's Stripe API."""
    from apps.billing import demo_stripe

    settings.DEMO_STRIPE_STATE = tmp_path / "demo-stripe.json"
    store = demo_stripe.store()
    monkeypatch.setattr(stripe, "default_http_client", demo_stripe.DemoStripeClient(store))
    return store


# --- The distributed topologies' share of the run (issue: bounded in CI) -------------
# tests/topology starts Redis Cluster/Sentinel and a Postgres standby, tests/multihost
# three app hosts in network namespaces; together they must stay a few minutes of
# `make test` on a 2-core machine. Their time is added up and printed at the end, with
# a warning past the budget (a figure to watch, not a timed test that fails on a slow day).
TOPOLOGY_DIRS = ("tests/topology/", "tests/multihost/")
TOPOLOGY_BUDGET_SECONDS = 5 * 60
_topology_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    folder = next((d for d in TOPOLOGY_DIRS if report.nodeid.startswith(d)), None)
    if folder is not None:
        _topology_seconds[folder] = _topology_seconds.get(folder, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _topology_seconds:
        return
    total = sum(_topology_seconds.values())
    parts = ", ".join(f"{d.rstrip('/')} {s:.0f} s" for d, s in sorted(_topology_seconds.items()))
    line = f"topologies: {total:.0f} s ({parts}); budget {TOPOLOGY_BUDGET_SECONDS} s"
    if total > TOPOLOGY_BUDGET_SECONDS:
        terminalreporter.write_line(f"WARNING {line}: over budget", yellow=True)
    else:
        terminalreporter.write_line(line)
