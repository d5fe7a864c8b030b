"""Revoke on host A, watch hosts B and C: how long after the webhook's 200 do they grant?

Readers request a gated page on hosts B and C back to back, recording when each request
was sent and answered. The driver flips a member's subscription through signed webhooks
on host A: grant, wait until every reader was granted, revoke (optionally stalling the
readers' Redis links as the revoking write runs), watch. A stale grant is a 200 from a
reader's host for a request sent
after the revoking webhook's 200 came back (and answered before the next grant
began); its lateness is how long after that 200 it was sent. All times are this
process's monotonic clock, which the namespaces share.
"""

import http.client
import json
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis

from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import FakeStripe


@dataclass(frozen=True)
class Answer:
    sent: float
    received: float
    status: int

    @property
    def took(self) -> float:
        return self.received - self.sent


class Reader(threading.Thread):
    """Requests `path` on one host, back to back, until stopped."""

    def __init__(self, base_url: str, path: str, cookie: str, *, host: str = "") -> None:
        super().__init__(daemon=True)
        self.netloc, self.path, self.cookie = urlsplit(base_url).netloc, path, cookie
        self.host = host  # the host's name, for figures per host
        self.answers: list[Answer] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.netloc, timeout=10)
        while not self.stopping.is_set():
            sent = time.monotonic()
            try:
                conn.request("GET", self.path, headers={"Cookie": self.cookie})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(self.netloc, timeout=10)
                status = -1
            self.answers.append(Answer(sent, time.monotonic(), status))
        conn.close()


@dataclass
class Trial:
    revoked_at: float  # the revoking webhook's 200 came back
    until: float  # the next grant had not begun yet
    stale: list[float] = field(default_factory=list)  # seconds after revoked_at, per grant
    denied: int = 0


@dataclass
class Webhooks:
    """Flips one subscription through signed webhooks posted to host A."""

    fake: FakeStripe
    lock: threading.Lock  # the fake is also served to host A from another thread
    subscription_id: str
    base_url: str
    path: str
    secret: str

    def flip(self, *, granted: bool) -> float:
        """Posts the change; returns when its 200 came back."""
        with self.lock:
            self.fake.update(self.subscription_id, status="active" if granted else "canceled")
            event = build.event(
                self.fake, "customer.subscription.updated", self.fake.get(self.subscription_id)
            )
        body = json.dumps(event)
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": build.sign(body, secret=self.secret),
        }
        conn = http.client.HTTPConnection(urlsplit(self.base_url).netloc, timeout=30)
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        answered = time.monotonic()
        if response.status != 200:
            raise AssertionError(f"the webhook answered {response.status}")
        return answered


class Staller(threading.Thread):
    """Stalls the readers' Redis links the moment Redis runs the revoking write, until
    `seconds` after the webhook's 200: this process tracks `key` on its own connection
    and tells the proxies as soon as Redis pushes the change (the hosts' copies of that
    push are still in the proxies' queues, held by the links' delay)."""

    def __init__(
        self, *, redis_url: str, key: str, stall: Callable[[float], None], seconds: float
    ) -> None:
        super().__init__(daemon=True)
        self.stall, self.seconds = stall, seconds
        self.armed, self.stopping = threading.Event(), threading.Event()
        self.conn = redis.Redis.from_url(redis_url, protocol=3).connection_pool.make_connection()
        self.conn.connect()
        self.conn.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", key)
        self.conn.read_response()
        self.conn._parser.set_invalidation_push_handler(self._on_push)

    def _on_push(self, message: object) -> None:
        if self.armed.is_set():
            self.armed.clear()
            self.stall(60.0)  # until released

    def release(self) -> None:
        self.armed.clear()
        self.stall(self.seconds)  # from now (shortens the open-ended stall)

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.conn.can_read(timeout=0.05):
                self.conn.read_response(push_request=True)
        self.conn.disconnect()


def wait_for(readers: list[Reader], since: float, status: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(any(a.sent > since and a.status == status for a in r.answers) for r in readers):
            return
        time.sleep(0.01)
    raise AssertionError(f"a reading host never answered {status} after the change")


def run_trials(
    *,
    webhooks: Webhooks,
    readers: list[Reader],
    trials: int,
    watch: float,
    stall: "Staller | None" = None,
) -> list[Trial]:
    """`trials` revocations; each watched for `watch` seconds before the next grant."""
    done: list[Trial] = []
    for _ in range(trials):
        granted_at = webhooks.flip(granted=True)
        wait_for(readers, granted_at, 200)
        time.sleep(random.uniform(0.05, 0.15))  # B serves warm copies meanwhile
        if stall:
            stall.armed.set()
        revoked_at = webhooks.flip(granted=False)
        if stall:
            stall.release()
        time.sleep(watch)
        done.append(Trial(revoked_at, until=time.monotonic()))
        wait_for(readers, revoked_at, 302)  # the revocation did reach every reader
    return judge(done, [a for reader in readers for a in reader.answers])


def judge(trials: list[Trial], answers: list[Answer]) -> list[Trial]:
    """The trials again, with the stale grants and denials among `answers` counted."""
    judged = []
    for trial in trials:
        seen = Trial(trial.revoked_at, trial.until)
        for answer in answers:
            if seen.revoked_at < answer.sent:
                if answer.status == 200 and answer.received < seen.until:
                    seen.stale.append(answer.sent - seen.revoked_at)
                elif answer.status == 302 and answer.sent < seen.until:
                    seen.denied += 1
        judged.append(seen)
    return judged


def summary(trials: list[Trial], answers: list[Answer]) -> dict[str, Any]:
    """Stale window per revocation (0 when none was stale): p50, p99, max, in ms."""
    windows = sorted(max(t.stale, default=0.0) * 1000 for t in trials)

    def pick(q: float) -> float:
        return round(windows[min(len(windows) - 1, int(q * len(windows)))], 1)

    return {
        "revocations": len(trials),
        "stale_grants": sum(len(t.stale) for t in trials),
        "revocations_with_stale": sum(bool(t.stale) for t in trials),
        "denied_after": sum(t.denied for t in trials),
        "window_ms_p50": round(statistics.median(windows), 1),
        "window_ms_p99": pick(0.99),
        "window_ms_max": round(windows[-1], 1),
        "requests": len(answers),
        "page_ms_p50": round(statistics.median(a.took for a in answers) * 1000, 1),
        "errors": sum(a.status not in (200, 302) for a in answers),
    }
