"""Revocation across app hosts, measured: a webhook on host A, gated pages on host B.

B's link from Redis is slowed (150 ms or 30 ms on every byte), or slowed by 30 ms and
stalled from the moment Redis runs the revoking write until 400 ms after the webhook's
200 (nothing reaches B meanwhile). With the near cache on, B may grant for at most the
published bound after the webhook's 200 (README, "Known limits"); with
REDIS_NEAR_CACHE=off never. Set MULTIHOST_TRIALS for more revocations per case and
MULTIHOST_RESULTS to a path for the figures as JSON (bench/across_hosts.py does both).
"""

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.billing import services
from tests.billing.fake_stripe import FakeStripe, serve_over_http
from tests.multihost import harness
from tests.multihost.revocations import Reader, Staller, Webhooks, run_trials, summary
from tests.state_helpers import generation_key

# The bound README publishes: REDIS_NEAR_CACHE_LIVENESS's default, in seconds.
PUBLISHED_BOUND = 0.1
STALL = 0.4
# name: (delay of every byte from Redis to B, stalled at the revocation, seconds watched)
CASES = {
    "delay_150ms": (0.15, False, 0.6),
    "delay_30ms": (0.03, False, 0.5),
    "delay_30ms_stall_400ms": (0.03, True, STALL + 0.5),
}
TRIALS = int(os.environ.get("MULTIHOST_TRIALS", "5"))
READERS = 2


@pytest.fixture
def net() -> Iterator[harness.Network]:
    with harness.network() as made:
        yield made


@pytest.fixture
def stripe_api(net, fake_stripe) -> Iterator[tuple[int, threading.Lock]]:  # type: ignore[no-untyped-def]
    """The fake Stripe API over HTTP on host A's link (dj-stripe re-fetches from it)."""
    lock = threading.Lock()
    port = harness.free_port(net.a.gateway)

    server = serve_over_http(fake_stripe, host=net.a.gateway, port=port, lock=lock)
    yield port, lock
    server.shutdown()
    server.server_close()


def hosts_database_url() -> str:
    """The database pytest made (test_...), as a URL for the hosts."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def record(name: str, figures: dict[str, Any]) -> None:
    print(name, json.dumps(figures))  # noqa: T201 - the figures, with -s
    if path := os.environ.get("MULTIHOST_RESULTS"):
        results = Path(path)
        known = json.loads(results.read_text()) if results.exists() else {}
        results.write_text(json.dumps({**known, name: figures}, indent=1))


@pytest.mark.parametrize("near_cache", ["on", "off"])
def test_a_revocation_on_one_host_stops_grants_on_another_within_the_published_bound(
    transactional_db,
    net,
    stripe_api,
    fake_stripe: FakeStripe,
    user,
    subscribe,
    tmp_path,
    near_cache,
):
    stripe_port, lock = stripe_api
    sub = subscribe("pro_monthly")
    endpoint, _ = services.webhook_endpoint_ensure(base_url="http://testserver")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    with harness.cluster(
        net,
        redis_url=settings.CACHES["default"]["LOCATION"],
        database_url=hosts_database_url(),
        stripe_port=stripe_port,
        env={"REDIS_NEAR_CACHE": near_cache},
        logs=tmp_path,
    ) as hosts:
        webhooks = Webhooks(
            fake=fake_stripe,
            lock=lock,
            subscription_id=sub["id"],
            base_url=hosts.a.base_url,
            path=reverse(
                "djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid}
            ),
            secret=settings.STRIPE_WEBHOOK_SECRET,
        )

        figures = {}
        for case, (delay, stalls, watch) in CASES.items():
            hosts.link_b.delay(delay)
            staller = (
                Staller(
                    redis_url=settings.CACHES["default"]["LOCATION"],
                    key=generation_key(user.pk),
                    stall=hosts.link_b.stall,
                    seconds=STALL,
                )
                if stalls
                else None
            )
            readers = [
                Reader(hosts.b.base_url, reverse("web:reports"), cookie) for _ in range(READERS)
            ]
            for thread in [*readers, *([staller] if staller else [])]:
                thread.start()
            try:
                trials = run_trials(
                    webhooks=webhooks,
                    readers=readers,
                    trials=TRIALS,
                    watch=watch,
                    stall=staller,
                )
            finally:
                for thread in [*readers, *([staller] if staller else [])]:
                    thread.stopping.set()
                    thread.join()
            answers = [a for r in readers for a in r.answers]
            figures[case] = summary(trials, answers)
            record(
                f"near_cache_{near_cache}_{case}",
                {**figures[case], "isolated_network": net.isolated},
            )

    for case, result in figures.items():
        assert result["errors"] == 0, (case, result)
        if near_cache == "on":
            assert result["window_ms_max"] <= PUBLISHED_BOUND * 1000, (case, result)
        else:
            assert result["stale_grants"] == 0, (case, result)
