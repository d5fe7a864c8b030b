"""The soak across the hosts, briefly: webhooks on host A, members read on B and C.

bench/soak_hosts.py's run, against the package's hosts for a few seconds (longer runs:
`bench/soak_hosts.py`). Grants on B and C after a revocation's 200 may last only
the published bound with the near cache on (apps/core/near_cache.py), none with it off.
"""

from django.conf import settings
from django.urls import reverse

from bench import soak_hosts
from bench.fixtures import member
from tests.billing.fake_stripe import FakeStripe
from tests.multihost import harness

SECONDS = 8
MEMBERS = 4


def test_members_read_on_two_hosts_while_webhooks_land_on_a_third_get_no_stale_grant(
    transactional_db,
    hosts: harness.Cluster,
    stripe_api,
    fake_stripe: FakeStripe,
    catalog,
    webhook_path,
):
    for link in hosts.links.values():
        link.delay(0.005)
        link.jitter(0.01)
    made = []
    for index in range(MEMBERS):
        user, cookie, sub_id = member(
            fake_stripe, email=f"soak-{index}@example.com", price_id=catalog["pro_monthly"]
        )
        made.append((user.pk, cookie, sub_id))
    site = soak_hosts.Site(
        reverse("web:reports"), settings.SESSION_COOKIE_NAME, webhook_path, stripe_api[1]
    )

    report = soak_hosts.run(hosts, fake_stripe, made, site, seconds=SECONDS, clients=2)

    print("soak_across_hosts", report)  # noqa: T201 - the figures, with -s
    assert soak_hosts.passed(report), report
    for name, host in report["hosts"].items():
        assert host["revocation_latency"]["count"] > 0, (name, host)
        assert host["granted"] > 0, (name, host)
        assert host["denied"] > 0, (name, host)
