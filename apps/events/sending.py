"""One signed POST to a receiver (Standard Webhooks), and what came of it.

Headers are those of https://www.standardwebhooks.com: `webhook-id` (the event's id,
the same on every attempt, so a receiver dedupes by it), `webhook-timestamp` (this
attempt's time, which a receiver checks within 5 minutes against replays) and
`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
endpoint's secret), made by the `standardwebhooks` library receivers verify with.
"""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from standardwebhooks.webhooks import Webhook

USER_AGENT = "Tollgate-Webhooks/1"

_local = threading.local()  # a requests.Session per worker thread: kept-alive connections


@dataclass(frozen=True)
class Outcome:
    latency_ms: float
    status_code: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(*, secret: str, event_id: str, body: str, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=event_id, timestamp=now, data=body),
    }


def post(*, url: str, secret: str, event_id: str, body: str) -> Outcome:
    """POST once, within EVENTS_TIMEOUT; never raises for what the receiver did."""
    headers = signed_headers(secret=secret, event_id=event_id, body=body, now=datetime.now(UTC))
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    started = time.perf_counter()
    try:
        response = session.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=settings.EVENTS_TIMEOUT,
            allow_redirects=False,  # a redirect is not a delivery
        )
    except requests.Timeout:
        return Outcome(_ms(started), error=f"no answer within {settings.EVENTS_TIMEOUT:g} s")
    except requests.RequestException as exc:
        return Outcome(_ms(started), error=f"{type(exc).__name__}: {exc}"[:300])
    response.close()
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(_ms(started), status_code=response.status_code, error=error)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
