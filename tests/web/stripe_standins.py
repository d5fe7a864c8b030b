"""Stand-ins for Stripe's hosted pages, Checkout and the Customer Portal, for browser tests.

The fake Stripe API gives Checkout and Portal sessions Stripe's real URLs
(https://checkout.stripe.com/c/pay/<id>, https://billing.stripe.com/p/session/<id>);
Playwright answers those hosts inside the browser. So the browser follows the same
redirect chain as in production under the site's real CSP: a form-action that did not
allow Stripe's hosts would block the redirect, and the violation would fail the test.

Behind the "Pay" and "Cancel plan" buttons happens what Stripe does: the subscription
changes in the fake Stripe API, the matching events are signed as Stripe signs them and
POSTed to the live server over HTTP, and only after their 200 is the browser sent on.

Adding a payment method in the Portal is different: Stripe stores the card as the
customer's default (customer.invoice_settings.default_payment_method) and sends none of
the events our endpoint is registered for. Paying the open invoice with it comes after,
on Stripe's side, so a test calls `invoice_retry` for it when the story says so.
"""

import html
import json
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from playwright.sync_api import BrowserContext, ConsoleMessage, Route

from tests.billing import stripe_builders as build
from tests.billing.fake_stripe import FakeStripe

CHECKOUT_HOST = "https://checkout.stripe.com"
PORTAL_HOST = "https://billing.stripe.com"
CHECKOUT_PATH = re.compile(r"/c/pay/(cs_\w+)")
PORTAL_PATH = re.compile(r"/p/session/(bps_\w+)(/cancel|/payment-methods/new)?")


@dataclass
class SignedWebhooks:
    """Deliver events to the live server's endpoint the way Stripe does."""

    fake: FakeStripe
    url: str
    secret: str
    delivered: list[str] = field(default_factory=list)

    def send(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """POST a signed `event_type` event about `obj`; fails unless the answer is 200."""
        event = build.event(self.fake, event_type, obj)
        body = json.dumps(event)
        response = requests.post(
            self.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": build.sign(body, secret=self.secret),
            },
            timeout=30,
        )
        assert response.status_code == 200, (event_type, response.status_code, response.text)
        self.delivered.append(event_type)
        return event


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main>{body}</main></body></html>"
    )


def _date(timestamp: int) -> str:
    return time.strftime("%B %-d, %Y", time.gmtime(timestamp))


class HostedStripe:
    """Checkout and Customer Portal pages on Stripe's hosts, for every page of a context.

    `portal_cancel_mode` is what the Portal configuration's subscription_cancel.mode
    says: "at_period_end" (Stripe's default) or "immediately".
    """

    def __init__(self, *, fake: FakeStripe, webhooks: SignedWebhooks) -> None:
        self.fake = fake
        self.webhooks = webhooks
        self.portal_cancel_mode = "at_period_end"
        self.errors: list[str] = []
        self.csp_violations: list[str] = []

    def install(self, context: BrowserContext) -> None:
        context.route(f"{CHECKOUT_HOST}/**", self._guarded(self._checkout))
        context.route(f"{PORTAL_HOST}/**", self._guarded(self._portal))
        context.on("console", self._watch_console)

    def _watch_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def _guarded(self, handler: Callable[[Route], None]) -> Callable[[Route], None]:
        # An exception inside a route handler would leave the browser waiting; answer
        # 500 instead and keep the traceback for the test's teardown to report.
        def handle(route: Route) -> None:
            try:
                handler(route)
            except Exception:
                self.errors.append(traceback.format_exc())
                route.fulfill(status=500, body="stand-in failed", content_type="text/plain")

        return handle

    @staticmethod
    def _html(route: Route, title: str, body: str) -> None:
        route.fulfill(status=200, body=_page(title, body), content_type="text/html")

    @staticmethod
    def _redirect(route: Route, location: str) -> None:
        route.fulfill(status=303, headers={"Location": location})

    # ---- Checkout ---------------------------------------------------------------
    def _checkout(self, route: Route) -> None:
        match = CHECKOUT_PATH.fullmatch(urlsplit(route.request.url).path)
        if match is None:
            route.fulfill(status=404, body="no such page", content_type="text/plain")
            return
        session_id = match.group(1)
        if route.request.method == "POST":
            self._redirect(route, self.checkout_pay(session_id))
            return
        session = self.fake.get(session_id)
        price = self.fake.get(self._price_ids(session_id)[0])
        product = self.fake.get(price["product"])
        amount = f"${price['unit_amount'] / 100:.2f} per {price['recurring']['interval']}"
        trial = self._trial_days(session_id)
        self._html(
            route,
            "Checkout",
            f"<h1>Subscribe to {html.escape(product['name'])}</h1><p>{amount}</p>"
            + (f"<p>{trial} days free</p>" if trial else "")
            + '<form method="post"><button type="submit">Pay</button></form>'
            + f'<a href="{html.escape(session["cancel_url"])}">Back</a>',
        )

    def checkout_pay(self, session_id: str) -> str:
        """Pay the session as Stripe does; return where Stripe sends the browser."""
        session = self.fake.get(session_id)
        subscription_data = self.fake.checkout_params[session_id].get("subscription_data") or {}
        now = int(time.time())
        fields: dict[str, Any] = {"metadata": subscription_data.get("metadata") or {}}
        trial = self._trial_days(session_id)
        if trial:
            trial_end = now + trial * build.DAY
            fields.update(status="trialing", trial_start=now, trial_end=trial_end)
            fields["period_end"] = trial_end
        subscription = build.subscription(
            self.fake,
            customer_id=session["customer"],
            price_ids=self._price_ids(session_id),
            **fields,
        )
        session = self.fake.update(
            session_id,
            status="complete",
            payment_status="no_payment_required" if trial else "paid",
            subscription=subscription["id"],
        )
        self.webhooks.send("checkout.session.completed", session)
        self.webhooks.send("customer.subscription.created", subscription)
        return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)

    def _price_ids(self, session_id: str) -> list[str]:
        return [item["price"] for item in self.fake.checkout_params[session_id]["line_items"]]

    def _trial_days(self, session_id: str) -> int:
        data = self.fake.checkout_params[session_id].get("subscription_data") or {}
        return int(data.get("trial_period_days") or 0)

    # ---- Customer Portal --------------------------------------------------------
    def _portal(self, route: Route) -> None:
        match = PORTAL_PATH.fullmatch(urlsplit(route.request.url).path)
        if match is None:
            route.fulfill(status=404, body="no such page", content_type="text/plain")
            return
        session_id, action = match.groups()
        home = f"{PORTAL_HOST}/p/session/{session_id}"
        session = self.fake.get(session_id)
        form = parse_qs(route.request.post_data or "")
        posted = route.request.method == "POST"
        if action == "/cancel" and posted:
            self.portal_cancel(form["subscription"][0])
            self._redirect(route, home)
            return
        if action == "/payment-methods/new" and posted:
            self.portal_payment_method_add(session["customer"], form["card_number"][0])
            self._redirect(route, home)
            return
        if action == "/payment-methods/new":
            self._html(
                route,
                "Add payment method",
                '<h1>Add payment method</h1><form method="post">'
                '<label for="card_number">Card number</label>'
                '<input id="card_number" name="card_number" inputmode="numeric" '
                'autocomplete="cc-number" required>'
                '<button type="submit">Add</button></form>'
                f'<a href="{html.escape(home)}">Back</a>',
            )
            return
        rows = "".join(self._portal_row(session_id, sub) for sub in self._subscriptions(session))
        self._html(
            route,
            "Billing portal",
            f"<h1>Current plan</h1>{rows or '<p>No subscription.</p>'}"
            f"{self._portal_payment_method(session_id, session['customer'])}"
            f'<a href="{html.escape(session["return_url"])}">Return to Tollgate</a>',
        )

    def _subscriptions(self, session: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            obj
            for obj in self.fake.objects.values()
            if obj.get("object") == "subscription" and obj.get("customer") == session["customer"]
        ]

    def _portal_row(self, session_id: str, sub: dict[str, Any]) -> str:
        item = sub["items"]["data"][0]
        name = html.escape(self.fake.get(item["price"]["product"])["name"])
        end = _date(item["current_period_end"])
        if sub["status"] == "canceled":
            return f"<section><h2>{name}</h2><p>Your plan was canceled.</p></section>"
        if sub["cancel_at_period_end"]:
            return f"<section><h2>{name}</h2><p>Your plan will be canceled on {end}.</p></section>"
        failed = "<p>Past due: the last payment failed.</p>" if sub["status"] == "past_due" else ""
        return (
            f"<section><h2>{name}</h2>{failed}<p>Renews on {end}.</p>"
            f'<form method="post" action="/p/session/{session_id}/cancel">'
            f'<input type="hidden" name="subscription" value="{html.escape(sub["id"])}">'
            '<button type="submit">Cancel plan</button></form></section>'
        )

    def portal_cancel(self, subscription_id: str) -> None:
        """Cancel as the Portal does in `portal_cancel_mode`, then deliver Stripe's event."""
        now = int(time.time())
        details = {"comment": None, "feedback": None, "reason": "cancellation_requested"}
        if self.portal_cancel_mode == "immediately":
            sub = self.fake.update(
                subscription_id,
                status="canceled",
                canceled_at=now,
                ended_at=now,
                cancellation_details=details,
            )
            self.webhooks.send("customer.subscription.deleted", sub)
            return
        period_end = self.fake.get(subscription_id)["items"]["data"][0]["current_period_end"]
        sub = self.fake.update(
            subscription_id,
            cancel_at_period_end=True,
            cancel_at=period_end,
            canceled_at=now,
            cancellation_details=details,
        )
        self.webhooks.send("customer.subscription.updated", sub)

    def _portal_payment_method(self, session_id: str, customer_id: str) -> str:
        default = self.fake.get(customer_id)["invoice_settings"]["default_payment_method"]
        if default:
            card = self.fake.get(default)["card"]
            on_file = f"<p>{card['brand'].title()} ending in {card['last4']} (default)</p>"
        else:
            on_file = "<p>No payment method on file.</p>"
        return (
            f"<section><h2>Payment method</h2>{on_file}"
            f'<a href="/p/session/{session_id}/payment-methods/new">Add payment method</a>'
            "</section>"
        )

    def portal_payment_method_add(self, customer_id: str, card_number: str) -> dict[str, Any]:
        """Store a card as the Portal's payment method update does: a PaymentMethod
        attached to the customer and made its invoice_settings.default_payment_method."""
        digits = re.sub(r"\D", "", card_number)
        now = time.gmtime()
        method = self.fake.put(
            {
                "id": self.fake.new_id("pm"),
                "object": "payment_method",
                "allow_redisplay": "always",
                "billing_details": {"address": None, "email": None, "name": None, "phone": None},
                "card": {
                    "brand": "visa" if digits.startswith("4") else "mastercard",
                    "country": "US",
                    "exp_month": now.tm_mon,
                    "exp_year": now.tm_year + 3,
                    "funding": "credit",
                    "last4": digits[-4:],
                },
                "created": int(time.time()),
                "customer": customer_id,
                "livemode": False,
                "metadata": {},
                "type": "card",
            }
        )
        settings = self.fake.get(customer_id)["invoice_settings"]
        self.fake.update(
            customer_id, invoice_settings={**settings, "default_payment_method": method["id"]}
        )
        return method

    def invoice_retry(self, invoice_id: str) -> dict[str, Any]:
        """Stripe's next attempt at an open invoice, charged to the customer's default
        payment method: the invoice is paid, its subscription is active again, and the
        two events our endpoint is registered for are delivered, invoice.paid first."""
        invoice = self.fake.get(invoice_id)
        customer = self.fake.get(invoice["customer"])
        assert customer["invoice_settings"]["default_payment_method"], "no card to charge"
        invoice = self.fake.update(
            invoice_id,
            status="paid",
            attempted=True,
            attempt_count=invoice["attempt_count"] + 1,
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            status_transitions={**invoice["status_transitions"], "paid_at": int(time.time())},
        )
        subscription_id = invoice["parent"]["subscription_details"]["subscription"]
        subscription = self.fake.update(subscription_id, status="active")
        self.webhooks.send("invoice.paid", invoice)
        self.webhooks.send("customer.subscription.updated", subscription)
        return invoice
