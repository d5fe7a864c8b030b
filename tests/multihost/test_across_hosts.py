"""Revocation across app hosts, measured: a webhook on host A, gated pages on B and C.

B's and C's links from Redis are each slowed on their own: a fixed delay on every byte,
a delay plus jitter (each chunk held a random extra, in order), and the jittery links
stalled from the moment Redis runs the revoking write until 400 ms after the webhook's
200 (nothing reaches B or C meanwhile). With the near cache on, B and C may grant for
at most the published bound after the webhook's 200 (README, "Known limits"); with
REDIS_NEAR_CACHE=off never. Set MULTIHOST_TRIALS for more revocations per case and
MULTIHOST_RESULTS to a path for the figures as JSON (bench/across_hosts.py does both).
"""

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

from tests.billing.fake_stripe import FakeStripe
from tests.multihost import harness
from tests.multihost.revocations import Reader, Staller, Webhooks, judge, run_trials, summary
from tests.state_helpers import generation_key

# The bound README publishes: REDIS_NEAR_CACHE_LIVENESS's default, in seconds.
PUBLISHED_BOUND = 0.1
STALL = 0.4
# name: ({reading host: (delay, jitter) of Redis → it}, stalled at the revocation, watched)
# C's jitter straddles the bound: some of its answers come back within 100 ms, some not.
JITTERY = {"b": (0.03, 0.04), "c": (0.005, 0.15)}
CASES = {
    "delay_150ms": ({"b": (0.15, 0.0), "c": (0.15, 0.0)}, False, 0.6),
    "jitter": (JITTERY, False, 0.5),
    "jitter_stall_400ms": (JITTERY, True, STALL + 0.5),
}
TRIALS = int(os.environ.get("MULTIHOST_TRIALS", "3"))
READERS = 2  # per reading host


def record(name: str, figures: dict[str, Any]) -> None:
    print(name, json.dumps(figures))  # noqa: T201 - the figures, with -s
    if path := os.environ.get("MULTIHOST_RESULTS"):
        results = Path(path)
        known = json.loads(results.read_text()) if results.exists() else {}
        results.write_text(json.dumps({**known, name: figures}, indent=1))


def measure(
    hosts: harness.Cluster,
    webhooks: Webhooks,
    *,
    path: str,
    cookie: str,
    user_id: int,
    case: str,
) -> dict[str, dict[str, Any]]:
    """One case's revocations, watched on B and C; figures per reading host."""
    links, stalls, watch = CASES[case]
    for name, (delay, jitter) in links.items():
        hosts.links[name].delay(delay)
        hosts.links[name].jitter(jitter)
    staller = (
        Staller(
            redis_url=settings.CACHES["default"]["LOCATION"],
            key=generation_key(user_id),
            stall=lambda seconds: [link.stall(seconds) for link in hosts.links.values()],
            seconds=STALL,
        )
        if stalls
        else None
    )
    readers = [
        Reader(host.base_url, path, cookie, host=name)
        for name, host in hosts.readers.items()
        for _ in range(READERS)
    ]
    threads = [*readers, *([staller] if staller else [])]
    for thread in threads:
        thread.start()
    try:
        trials = run_trials(
            webhooks=webhooks, readers=readers, trials=TRIALS, watch=watch, stall=staller
        )
    finally:
        for thread in threads:
            thread.stopping.set()
            thread.join()
    figures = {}
    for name in hosts.readers:
        answers = [a for r in readers if r.host == name for a in r.answers]
        figures[name] = {
            **summary(judge(trials, answers), answers),
            "link_delay_ms": links[name][0] * 1000,
            "link_jitter_ms": links[name][1] * 1000,
            "stall_ms": STALL * 1000 if stalls else 0,
            "isolated_network": hosts.network.isolated,
        }
    return figures


def test_a_revocation_on_one_host_stops_grants_on_two_others_within_the_published_bound(
    transactional_db,
    hosts: harness.Cluster,
    stripe_api,
    fake_stripe: FakeStripe,
    user,
    subscribe,
    webhook_path,
    member_cookie,
):
    near_cache = hosts.env["REDIS_NEAR_CACHE"]
    sub = subscribe("pro_monthly")
    webhooks = Webhooks(
        fake=fake_stripe,
        lock=stripe_api[1],
        subscription_id=sub["id"],
        base_url=hosts.a.base_url,
        path=webhook_path,
        secret=settings.STRIPE_WEBHOOK_SECRET,
    )

    figures = {}
    for case in CASES:
        per_host = measure(
            hosts,
            webhooks,
            path=reverse("web:reports"),
            cookie=member_cookie,
            user_id=user.pk,
            case=case,
        )
        for name, result in per_host.items():
            figures[case, name] = result
            record(f"near_cache_{near_cache}_{case}_host_{name}", result)

    for key, result in figures.items():
        assert result["errors"] == 0, (key, result)
        if near_cache == "on":
            assert result["window_ms_max"] <= PUBLISHED_BOUND * 1000, (key, result)
        else:
            assert result["stale_grants"] == 0, (key, result)
