"""The pricing page reads a real streaming standby; Access never does.

The session fixture makes a primary and a standby (tests/topology/standby.py) and runs
one app process against them (this module run as a script, DATABASE_URL on the primary
and DATABASE_REPLICA_URL on the standby), which reports what it saw as JSON; the tests
below each check part of it. Its replay is paused for the middle of the story, so the
standby holds a subscription that the primary has already canceled.
"""

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.topology.standby import ROOT, Standby, StandbyError, standby

# The test database must exist (the standby's primary starts as a copy of it).
pytestmark = pytest.mark.django_db

Facts = dict[str, Any]
_TABLE = re.compile(r'(?:FROM|JOIN) "(\w+)"')


@pytest.fixture(scope="session")
def facts(django_db_setup) -> Iterator[Facts]:  # type: ignore[no-untyped-def]
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict  # the test database, migrated by pytest-django
    test_database = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    failure = None
    try:
        with standby(schema_from=test_database) as topology:
            yield _run_app(topology, redis_url=str(settings.CACHES["default"]["LOCATION"]))
    except StandbyError as error:
        failure = str(error)
    if failure:
        pytest.fail(failure, pytrace=False)


def _run_app(topology: Standby, *, redis_url: str) -> Facts:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": topology.primary_url,
        "DATABASE_REPLICA_URL": topology.standby_url,
        "TEST_REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": "tollgate-standby",  # apart from this process's test keys
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.topology.test_standby"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    facts: Facts = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def test_pricing_page_reads_its_catalog_from_the_standby(facts):
    anonymous, member = facts["pricing_anonymous"], facts["pricing"]
    assert anonymous["status"] == member["status"] == 200
    assert anonymous["plans"] == member["plans"] == ["Pro"]
    for page in (anonymous, member):
        assert {"djstripe_product", "djstripe_price"} <= set(page["standby"])
    # A visitor's page has no Access to compute: the primary saw no billing query at all.
    assert [table for table in anonymous["primary"] if table.startswith("djstripe_")] == []


def test_access_is_never_read_from_the_standby(facts):
    # The pricing page computed the Access from the primary; the gated page was then
    # served it from the cache, and after the cancellation recomputed it, again from the
    # primary. Neither gated request sent the standby a single query.
    assert "djstripe_subscription" in facts["pricing"]["primary"]
    assert "djstripe_subscription" not in facts["pricing"]["standby"]
    assert facts["reports_active"]["standby"] == []
    assert facts["reports_canceled"]["standby"] == []
    assert "djstripe_subscription" in facts["reports_canceled"]["primary"]


def test_cancellation_on_the_primary_denies_at_once_while_the_standby_still_has_it(facts):
    assert facts["reports_active"]["status"] == 200
    assert facts["webhook_status"] == 200
    assert facts["standby_subscription_status"] == "active"  # replay paused: stale
    assert facts["reports_canceled"]["status"] == 302  # to pricing, as any denial
    assert facts["access_canceled"] == "canceled"
    assert facts["access_compute_standby"] == []


def test_pricing_page_still_serves_a_paused_standby_and_catches_up_after(facts):
    paused = facts["pricing_paused"]
    assert paused["status"] == 200
    assert "Team" not in paused["plans"]  # created on the primary after the pause
    assert "djstripe_price" in paused["standby"]
    assert [table for table in paused["primary"] if table.startswith("djstripe_")] == []
    assert "Team" in facts["pricing_resumed"]["plans"]


def test_pricing_page_reads_the_primary_when_the_standby_is_down(facts):
    down = facts["pricing_standby_down"]
    assert down["status"] == 200
    assert down["plans"] == ["Pro", "Team"]
    assert {"djstripe_product", "djstripe_price"} <= set(down["primary"])


def test_only_reads_made_before_any_write_and_outside_transactions_may_go_to_the_standby(
    facts,
):
    assert facts["alias"] == {
        "fresh_request": "replica",
        "after_a_write": "default",
        "inside_a_transaction": "default",
        "next_request": "replica",
    }


def test_missing_postgres_binaries_fail_with_what_to_install(monkeypatch, tmp_path):
    from tests.topology import standby as harness

    monkeypatch.setattr(harness, "PG_BIN", tmp_path)

    with (
        pytest.raises(StandbyError, match="apt-get install postgresql-15"),
        standby(schema_from="postgres://unused"),
    ):
        pass


# --- The app process (run as `python -m tests.topology.test_standby`) ---------------


@contextmanager
def _queries() -> Iterator[dict[str, list[str]]]:
    """The tables each alias's queries named, per alias, while the block runs."""
    from django.db import connections

    seen: dict[str, list[str]] = {"default": [], "replica": []}

    def recorder(alias: str) -> Callable[..., Any]:
        def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            seen[alias] += _TABLE.findall(sql)
            return execute(sql, params, many, context)

        return record

    with (
        connections["default"].execute_wrapper(recorder("default")),
        connections["replica"].execute_wrapper(recorder("replica")),
    ):
        yield seen


def _page(client: Any, path: str) -> Facts:
    with _queries() as seen:
        response = client.get(path)
    cards = response.context.get("cards") if response.context else None
    return {
        "status": response.status_code,
        "plans": [card["plan"].name for card in cards or []],
        "primary": sorted(set(seen["default"])),
        "standby": sorted(set(seen["replica"])),
    }


def _app() -> Facts:
    """Django set up as a test app host on the topology, then the story, in order."""
    import django

    django.setup()
    import stripe
    from django.test.utils import setup_test_environment

    from tests.billing.fake_stripe import FakeStripe

    setup_test_environment()  # as pytest-django does: the test client's host, locmem mail
    fake = FakeStripe()
    stripe.default_http_client = fake
    stripe.max_network_retries = 0
    return {**_story(fake, Standby()), "alias": _aliases()}


def _story(fake: Any, topology: Standby) -> Facts:
    """A member subscribed to Pro; replay paused; Team added and the member's
    subscription canceled on the primary; replay resumed; the standby unreachable."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.urls import reverse
    from djstripe.models import Customer

    from apps.billing import services
    from apps.billing.access.resolver import access_compute
    from tests.accounts.factories import UserFactory
    from tests.billing import stripe_builders as build

    pro = build.product(fake, key="pro", name="Pro", features=["reports"], order="2")
    price = build.price(fake, product_id=pro["id"], lookup_key="pro_monthly", amount=1200)
    services.plans_sync()
    user = UserFactory()
    customer = build.customer(fake, user_id=user.pk, email=user.email)
    Customer.sync_from_stripe_data(customer, api_key=settings.STRIPE_TEST_SECRET_KEY)
    sub = build.subscription(fake, customer_id=customer["id"], price_ids=[price["id"]])
    services.subscription_sync(data=sub)
    endpoint, _ = services.webhook_endpoint_ensure(base_url="http://testserver")
    member = Client()
    member.force_login(user)
    topology.wait_replayed()

    facts: Facts = {"pricing_anonymous": _page(Client(), "/pricing/")}
    facts["pricing"] = _page(member, "/pricing/")
    facts["reports_active"] = _page(member, reverse("web:reports"))

    topology.pause_replay()
    team = build.product(fake, key="team", name="Team", features=["reports"], order="3")
    build.price(fake, product_id=team["id"], lookup_key="team_monthly", amount=4900)
    services.plans_sync()
    event = build.event(
        fake, "customer.subscription.deleted", fake.update(sub["id"], status="canceled")
    )
    url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
    facts["webhook_status"] = build.post_webhook(
        Client(), url, event, secret=settings.STRIPE_WEBHOOK_SECRET
    ).status_code
    facts["standby_subscription_status"] = topology.query(
        topology.standby_url,
        "SELECT stripe_data->>'status' FROM djstripe_subscription WHERE id = %s",
        sub["id"],
    )[0][0]
    facts["reports_canceled"] = _page(member, reverse("web:reports"))
    with _queries() as seen:
        facts["access_canceled"] = access_compute(user.pk).status
    facts["access_compute_standby"] = seen["replica"]
    facts["pricing_paused"] = _page(Client(), "/pricing/")

    topology.resume_replay()
    topology.wait_replayed()
    facts["pricing_resumed"] = _page(Client(), "/pricing/")

    standby = connections["replica"]
    standby.close()
    standby.settings_dict["PORT"] = _closed_port()  # the standby stops answering
    facts["pricing_standby_down"] = _page(Client(), "/pricing/")
    return facts


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again, so a connection is refused at once


def _aliases() -> dict[str, str]:
    """What `read_alias` answers through a request's life (request_started as Django's
    handler sends it)."""
    from django.core.signals import request_started
    from django.db import transaction

    from apps.accounts.models import User
    from apps.core import db_router

    alias = {}
    request_started.send(sender=None)
    alias["fresh_request"] = db_router.read_alias()
    User.objects.filter(pk=0).update(name="nobody")  # a write, even of no row
    alias["after_a_write"] = db_router.read_alias()
    request_started.send(sender=None)
    with transaction.atomic():
        alias["inside_a_transaction"] = db_router.read_alias()
    request_started.send(sender=None)
    alias["next_request"] = db_router.read_alias()
    return alias


if __name__ == "__main__":
    print(json.dumps(_app()))  # noqa: T201 - the report the tests read
