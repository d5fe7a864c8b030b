"""The same signed Stripe event posted to hosts A and B at the same moment: one effect.

Stripe retries a delivery it timed out on while the first attempt is still running, and
behind a load balancer the two land on different hosts. Both must answer 2xx (else
Stripe keeps retrying), and the event must act once: one Event row, one re-fetch of the
subscription by its handler, one `access.changed` in the outbox. What makes it so is
Postgres, not Redis: the Event's unique Stripe id. The second insert waits for the first
transaction and fails once it commits, and dj-stripe then takes the stored Event and
skips the handlers. The Access announcement locks the user's AccessSent row (apps/events),
so the second delivery's announcement sees the first one's and sends nothing.
"""

import http.client
import json
import threading
from urllib.parse import urlsplit

from django.conf import settings
from djstripe.models import Event, Subscription, WebhookEventTrigger

from apps.events.models import ACCESS_CHANGED, AccessSent, Endpoint
from apps.events.models import Event as OutboxEvent
from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import FakeStripe
from tests.multihost import harness

ROUNDS = 4  # each round a new event, flipping the subscription; each posted to A and B


def post_at_once(base_urls: list[str], path: str, body: str) -> list[int]:
    """POST `body`, signed once, to every host at the same moment; their statuses."""
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": build.sign(body, secret=settings.STRIPE_WEBHOOK_SECRET),
    }
    connections = [
        http.client.HTTPConnection(urlsplit(url).netloc, timeout=30) for url in base_urls
    ]
    for conn in connections:
        conn.connect()  # so the barrier releases requests, not TCP handshakes
    barrier = threading.Barrier(len(connections))
    statuses = [0] * len(connections)

    def post(index: int) -> None:
        conn = connections[index]
        barrier.wait()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        statuses[index] = response.status
        conn.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(connections))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def overlapped(event_id: str) -> bool:
    """Both deliveries were received before either finished processing."""
    times = WebhookEventTrigger.objects.filter(event__id=event_id).values_list("created", "updated")
    return max(created for created, _ in times) < min(updated for _, updated in times)


def test_the_same_event_posted_to_two_hosts_at_once_acts_once_and_both_answer_2xx(
    transactional_db,
    hosts: harness.Cluster,
    stripe_api,
    fake_stripe: FakeStripe,
    user,
    subscribe,
    webhook_path,
):
    for link in hosts.links.values():  # plain links: both requests race for real
        link.delay(0)
        link.jitter(0)
    Endpoint.objects.create(
        name="ledger", url="http://127.0.0.1:9/nobody-listens", event_types=[ACCESS_CHANGED]
    )
    lock = stripe_api[1]
    sub = subscribe("pro_monthly")
    announced = OutboxEvent.objects.filter(type=ACCESS_CHANGED).count()
    gets = len(fake_stripe.calls_to("get", f"/v1/subscriptions/{sub['id']}"))
    b = next(iter(hosts.readers.values()))

    events, statuses = [], []
    for round_ in range(ROUNDS):
        status = "canceled" if round_ % 2 == 0 else "active"
        with lock:
            fake_stripe.update(sub["id"], status=status)
            event = build.event(
                fake_stripe, "customer.subscription.updated", fake_stripe.get(sub["id"])
            )
        events.append(event["id"])
        statuses.append(
            post_at_once([hosts.a.base_url, b.base_url], webhook_path, json.dumps(event))
        )
        assert Subscription.objects.get(id=sub["id"]).stripe_data["status"] == status

    assert all(200 <= code < 300 for pair in statuses for code in pair), statuses
    for event_id in events:
        assert Event.objects.filter(id=event_id).count() == 1
        # Both deliveries are on record, as dj-stripe keeps every one it verified.
        assert WebhookEventTrigger.objects.filter(event__id=event_id, valid=True).count() == 2
    # The race did happen: each host had its delivery on record before the other was done.
    assert any(overlapped(event_id) for event_id in events)
    # The handler re-fetched the subscription once per event, not once per delivery.
    assert len(fake_stripe.calls_to("get", f"/v1/subscriptions/{sub['id']}")) - gets == ROUNDS
    # One access.changed per real change (active → canceled → active ...), none twice.
    assert OutboxEvent.objects.filter(type=ACCESS_CHANGED).count() - announced == ROUNDS
    assert AccessSent.objects.get(user=user).access["stripe_status"] == "active"
