"""A stateful fake of Stripe's HTTP API, plugged in as stripe-python's HTTP client.

dj-stripe and our code run for real; only the far side of HTTP is replaced. Objects
are built from the JSON shapes in fixtures/stripe/ (current API version: period end
on subscription items, an invoice's subscription under `parent`). Every call is
recorded in `calls`, so tests can assert what was (and was not) sent to Stripe.
"""

import copy
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

FIXTURES = Path(__file__).with_name("fixtures") / "stripe"

# URL resource -> (id prefix, the `object` value Stripe gives such objects)
RESOURCES = {
    "checkout/sessions": ("cs_test", "checkout.session"),
    "billing_portal/sessions": ("bps", "billing_portal.session"),
    "customers": ("cus", "customer"),
    "subscriptions": ("sub", "subscription"),
    "invoices": ("in", "invoice"),
    "prices": ("price", "price"),
    "products": ("prod", "product"),
    "events": ("evt", "event"),
    "invoice_payments": ("inpay", "invoice_payment"),
    "refunds": ("re", "refund"),
}
FIXTURE_FOR = {
    "checkout.session": "checkout_session",
    "billing_portal.session": "billing_portal_session",
    "customer": "customer",
    "subscription": "subscription",
    "invoice": "invoice",
    "event": "event",
}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def parse_form(encoded: str) -> dict[str, Any]:
    """Decode Stripe's form encoding (`a[b][0][c]=v`) into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = root
        for part, following in itertools.pairwise(parts):
            empty: Any = [] if following == "" or following.isdigit() else {}
            if isinstance(node, list):
                index = len(node) if part == "" else int(part)
                node.extend([None] * (index + 1 - len(node)))
                node[index] = node[index] if node[index] is not None else empty
                node = node[index]
            else:
                node = node.setdefault(part, empty)
        if isinstance(node, list):
            index = len(node) if parts[-1] == "" else int(parts[-1])
            node.extend([None] * (index + 1 - len(node)))
            node[index] = value
        else:
            node[parts[-1]] = value
    return root


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, Any]
    form: dict[str, Any]
    idempotency_key: str | None
    stripe_version: str | None = None


class FakeStripe(stripe.HTTPClient):
    name = "fake-stripe"

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, dict[str, Any]] = {}
        self.features: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[Call] = []
        # What each Checkout Session was created with (line items, subscription data):
        # Stripe keeps it but returns it only on request, so the session object lacks it.
        self.checkout_params: dict[str, dict[str, Any]] = {}
        self.unreachable = False
        self.fail_status: int | None = None
        self.failing_ids: set[str] = set()  # requests naming one of these answer 500
        self._ids = itertools.count(1)
        # Unique per fake, so objects never collide with rows left by an earlier run.
        self._run = secrets.token_hex(3)
        self.put(fixture("account"))

    # ---- arranging state --------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{self._run}{next(self._ids):06d}"

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    def get(self, object_id: str) -> dict[str, Any]:
        return copy.deepcopy(self.objects[object_id])

    def update(self, object_id: str, **changes: Any) -> dict[str, Any]:
        self.objects[object_id].update(copy.deepcopy(changes))
        return self.get(object_id)

    # ---- the HTTP boundary ------------------------------------------------------
    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        form = parse_form(post_data.decode() if isinstance(post_data, bytes) else post_data or "")
        key = (headers or {}).get("Idempotency-Key")
        version = (headers or {}).get("Stripe-Version")
        call = Call(method, parts.path, parse_form(parts.query), form, key, version)
        self.calls.append(call)
        if self.unreachable:
            raise stripe.APIConnectionError("fake Stripe: connection refused")
        if self.fail_status or any(object_id in parts.path for object_id in self.failing_ids):
            status = self.fail_status or 500
            return self._error(status, "api_error", "fake Stripe: failing on purpose")
        return self._route(call)

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def calls_to(self, method: str, path_prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    # ---- routing ----------------------------------------------------------------
    def _route(self, call: Call) -> tuple[str, int, dict[str, str]]:
        path = call.path.removeprefix("/v1/")
        if path == "account":
            return self._ok(self.objects["acct_test_tollgate"])
        if path.startswith("products/") and path.endswith("/features"):
            return self._list(self.features.get(path.split("/")[1], []), call.path)
        for resource, (prefix, object_name) in RESOURCES.items():
            if path == resource:
                if call.method == "post":
                    return self._ok(self._create(object_name, prefix, call.form))
                return self._list(self._filter(object_name, call.query), call.path)
            if path.startswith(resource + "/"):
                return self._one(call, path.removeprefix(resource + "/"))
        return self._error(404, "invalid_request_error", f"Unrecognized request URL ({call.path})")

    def _one(self, call: Call, object_id: str) -> tuple[str, int, dict[str, str]]:
        object_id, _, action = object_id.partition("/")
        if object_id not in self.objects:
            return self._error(404, "invalid_request_error", f"No such object: '{object_id}'")
        if action == "expire":  # POST /v1/checkout/sessions/{id}/expire
            return self._ok(self.update(object_id, status="expired", url=None))
        if call.method == "delete" and self.objects[object_id]["object"] == "subscription":
            now = int(time.time())  # cancelling: Stripe keeps the subscription, now ended
            return self._ok(
                self.update(object_id, status="canceled", canceled_at=now, ended_at=now)
            )
        if call.method == "delete":
            self.objects[object_id]["deleted"] = True
            return self._ok(
                {"id": object_id, "object": self.objects[object_id]["object"], "deleted": True}
            )
        if call.method == "post":
            merged = self.objects[object_id]
            for field, value in call.form.items():
                if isinstance(value, dict) and isinstance(merged.get(field), dict):
                    merged[field].update(value)
                else:
                    merged[field] = value
        return self._ok(self._expanded(self.get(object_id), call.query.get("expand") or []))

    def _create(self, object_name: str, prefix: str, form: dict[str, Any]) -> dict[str, Any]:
        obj = fixture(FIXTURE_FOR[object_name]) if object_name in FIXTURE_FOR else {}
        obj.update(id=self.new_id(prefix), object=object_name, created=int(time.time()))
        if object_name == "checkout.session":
            obj.update(
                customer=form.get("customer"),
                client_reference_id=form.get("client_reference_id"),
                success_url=form.get("success_url"),
                cancel_url=form.get("cancel_url"),
                metadata=form.get("metadata", {}),
                # Stripe's real hosts: browser tests answer them with hosted-page stand-ins
                # (tests/web/stripe_standins.py), under the site's real CSP.
                url=f"https://checkout.stripe.com/c/pay/{obj['id']}",
                expires_at=obj["created"] + 24 * 60 * 60,  # Stripe's default lifetime
            )
            self.checkout_params[obj["id"]] = copy.deepcopy(form)
        elif object_name == "billing_portal.session":
            obj.update(customer=form.get("customer"), return_url=form.get("return_url"))
            obj["url"] = f"https://billing.stripe.com/p/session/{obj['id']}"
        elif object_name == "refund":
            obj.update(form, status="succeeded")
        else:
            obj.update({k: v for k, v in form.items() if k in obj or k == "metadata"})
        return self.put(obj)

    def _filter(self, object_name: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        found = [o for o in self.objects.values() if o.get("object") == object_name]
        for field in ("customer", "type", "invoice"):
            if field in query:
                found = [o for o in found if o.get(field) == query[field]]
        if query.get("active") == "true":
            found = [o for o in found if o.get("active")]
        if query.get("status") not in (None, "all"):
            found = [o for o in found if o.get("status") == query["status"]]
        if query.get("delivery_success") == "false":
            found = [o for o in found if o.get("pending_webhooks", 0) > 0]
        if "gte" in (query.get("created") or {}):
            found = [o for o in found if o.get("created", 0) >= int(query["created"]["gte"])]
        return sorted(found, key=lambda o: o.get("created", 0), reverse=True)

    def _expanded(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        for path in paths:
            head = path.split(".")[0]
            value = obj.get(head)
            if isinstance(value, str) and value in self.objects:
                obj[head] = self.get(value)
        return obj

    @staticmethod
    def _ok(body: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
        return json.dumps(body), 200, {"Request-Id": "req_fake"}

    def _list(self, data: list[dict[str, Any]], url: str) -> tuple[str, int, dict[str, str]]:
        return self._ok({"object": "list", "data": data, "has_more": False, "url": url})

    @staticmethod
    def _error(status: int, kind: str, message: str) -> tuple[str, int, dict[str, str]]:
        code = "resource_missing" if status == 404 else None
        body = {"error": {"type": kind, "message": message, "code": code}}
        return json.dumps(body), status, {"Request-Id": "req_fake"}


def serve_over_http(
    fake: FakeStripe, *, host: str, port: int, lock: threading.Lock
) -> ThreadingHTTPServer:
    """Serve `fake` as Stripe's API over HTTP, in a daemon thread, for processes that
    reach Stripe by URL (gunicorn hosts in the soak and the multi-host tests). Every
    request holds `lock`, which callers also take to change the fake's state."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else None
            with lock:
                text, status, headers = fake.request(
                    self.command.lower(),
                    f"http://{host}:{port}{self.path}",
                    dict(self.headers),
                    body,
                )
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(text.encode())

        do_GET = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
