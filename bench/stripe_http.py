"""Stripe for benchmarks that run gunicorn: the tests' fake API served over HTTP on
loopback (so dj-stripe's re-fetch of each webhook's object goes through stripe-python
for real), and signed webhooks posted to the real endpoint, as Stripe sends them.

Used by bench/soak.py and bench/webhooks.py; call `setup()` once Django is configured
(it installs the fake in this process too, for building members).
"""

import http.client
import json
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tests.billing.fake_stripe import FakeStripe, serve_over_http


def serve(fake: FakeStripe, *, port: int) -> ThreadingHTTPServer:
    """The fake API on 127.0.0.1:`port`, in a daemon thread; `shutdown()` when done."""
    return serve_over_http(fake, host="127.0.0.1", port=port, lock=threading.Lock())


def webhook_path(*, base_url: str) -> str:
    """The endpoint path Stripe would post to (stored like `manage.py billing_setup`)."""
    from django.urls import reverse

    from apps.billing import services

    endpoint, _ = services.webhook_endpoint_ensure(base_url=base_url)
    return reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})


def signed(fake: FakeStripe, event_type: str, obj: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """An event of `event_type` about `obj` (kept in the fake, as Stripe keeps it), and
    the headers Stripe sends it with, signed with STRIPE_WEBHOOK_SECRET."""
    from django.conf import settings

    from tests.billing import stripe_builders as build

    body = json.dumps(build.event(fake, event_type, obj))
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET),
    }
    return body, headers


def post(
    conn: http.client.HTTPConnection, path: str, body: str, headers: dict[str, str]
) -> tuple[int, float]:
    """POST one webhook on a kept-alive connection: (status, seconds until its answer)."""
    sent = time.monotonic()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status, time.monotonic() - sent
