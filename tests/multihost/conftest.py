"""The app hosts every multi-host test shares: started once per near-cache mode.

Starting three gunicorn hosts costs seconds on this machine, so they live for the whole
package, once with REDIS_NEAR_CACHE=on and once with it off (pytest runs every test of
one mode before starting the other). Each test brings its own data (its user, its
fake Stripe) through the usual fixtures; the hosts keep nothing but caches, which the
Redis flush between tests reaches as invalidations.
"""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.billing import services
from tests.billing.fake_stripe import FakeStripe, serve_over_http
from tests.multihost import harness

MODES = ["on", "off"]  # REDIS_NEAR_CACHE on the hosts


class CurrentFake:
    """What the HTTP server serves: the current test's fake Stripe."""

    fake: FakeStripe | None = None

    def request(self, *args: Any) -> Any:
        assert self.fake is not None, "no multi-host test is running"
        return self.fake.request(*args)


@pytest.fixture(scope="package")
def net() -> Iterator[harness.Network]:
    with harness.network() as made:
        yield made


@pytest.fixture(scope="package")
def stripe_server(net) -> Iterator[tuple[int, threading.Lock, CurrentFake]]:  # type: ignore[no-untyped-def]
    """The fake Stripe API over HTTP on host A's link (dj-stripe re-fetches from it)."""
    lock, current = threading.Lock(), CurrentFake()
    port = harness.free_port(net.a.gateway)
    server = serve_over_http(current, host=net.a.gateway, port=port, lock=lock)  # type: ignore[arg-type]
    yield port, lock, current
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_api(stripe_server, fake_stripe: FakeStripe) -> Iterator[tuple[int, threading.Lock]]:  # type: ignore[no-untyped-def]
    port, lock, current = stripe_server
    current.fake = fake_stripe
    yield port, lock
    current.fake = None


def hosts_database_url() -> str:
    """The database pytest made (test_...), as a URL for the hosts."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="package", params=MODES, ids=[f"near_cache_{m}" for m in MODES])
def hosts(  # type: ignore[no-untyped-def]
    request, net, stripe_server, django_db_setup, tmp_path_factory
) -> Iterator[harness.Cluster]:
    """Hosts A, B and C (harness.py), in one near-cache mode: `hosts.env`."""
    port = stripe_server[0]
    with harness.cluster(
        net,
        redis_url=settings.CACHES["default"]["LOCATION"],
        database_url=hosts_database_url(),
        stripe_port=port,
        env={"REDIS_NEAR_CACHE": request.param},
        logs=tmp_path_factory.mktemp(f"hosts-{request.param}"),
    ) as made:
        yield made


@pytest.fixture
def webhook_path(transactional_db) -> str:  # type: ignore[no-untyped-def]
    endpoint, _ = services.webhook_endpoint_ensure(base_url="http://testserver")
    return reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})


@pytest.fixture
def member_cookie(transactional_db, user) -> str:  # type: ignore[no-untyped-def]
    """A Cookie header signing `user` in on any host."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
