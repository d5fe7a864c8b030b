"""Reports: a second service that trusts Tollgate's tokens and nothing else of Tollgate's.

`GET /reports` with `Authorization: Bearer <access token>`:

1. The token is verified locally: RS256 against Tollgate's JWKS (PyJWKClient, which
   fetches a key set once and again only for an unknown `kid`), `typ: at+jwt`, issuer
   and audience from Tollgate's `/.well-known/openid-configuration`, not expired.
2. Then revocation and Access, in one of two modes (`REPORTS_MODE`):
   - `introspection`: POST the token to `/oauth/introspect` with this service's
     credentials on every request, keeping nothing; 200 only if it is active and its
     Access has the `reports` feature.
   - `push`: a local table fed by the signed `access.changed` and `session.ended`
     events Tollgate POSTs to `/events`. The first sight of a token introspects once;
     after that the token is answered from the table: the user's last known Access,
     and the token forgotten as soon as a session of its user ends (the event names a
     session by a hash the token does not carry, so the next request introspects once
     more, which tells whether it was this token's session or another of the user's).

Run: `uvicorn examples.reports_service.app:app --port 8600` (README.md beside this file).
"""

import base64
import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("reports")

FEATURE = "reports"
GRANTING = {"active", "trialing", "grace"}
MAX_TOKEN = 4096
SEEN_IDS = 10_000  # webhook-ids remembered for deduplication


@dataclass(frozen=True)
class Config:
    tollgate_url: str
    mode: str
    client_id: str
    client_secret: str
    events_secret: str
    audience: str | None
    timeout: float

    @classmethod
    def from_env(cls) -> "Config":
        mode = os.environ.get("REPORTS_MODE", "introspection")
        if mode not in ("introspection", "push"):
            raise RuntimeError(f"REPORTS_MODE={mode!r}: use 'introspection' or 'push'")
        events_secret = os.environ.get("REPORTS_EVENTS_SECRET", "")
        if mode == "push" and not events_secret:
            raise RuntimeError("REPORTS_MODE=push needs REPORTS_EVENTS_SECRET (whsec_...)")
        return cls(
            tollgate_url=os.environ["TOLLGATE_URL"].rstrip("/"),
            mode=mode,
            client_id=os.environ["REPORTS_CLIENT_ID"],
            client_secret=os.environ["REPORTS_CLIENT_SECRET"],
            events_secret=events_secret,
            audience=os.environ.get("REPORTS_AUDIENCE") or None,
            timeout=float(os.environ.get("REPORTS_TIMEOUT", "5")),
        )


@dataclass
class Known:
    """What push mode knows: each user's last Access (with the event time it came
    from), the tokens (by `jti`) found active and not since put in doubt, and the ones
    found inactive (a session never comes back)."""

    access: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)
    changes: collections.Counter[int] = field(default_factory=collections.Counter)
    seen: collections.OrderedDict[str, None] = field(default_factory=collections.OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Tollgate:
    """Discovery, the JWKS and introspection, over one HTTP session per thread."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.local = threading.local()
        discovery = self.http().get(
            f"{config.tollgate_url}/.well-known/openid-configuration", timeout=config.timeout
        )
        discovery.raise_for_status()
        meta = discovery.json()
        self.issuer: str = meta["issuer"]
        self.audience = config.audience or f"{self.issuer}/api/"
        self.introspection_endpoint = meta.get(
            "introspection_endpoint", f"{config.tollgate_url}/oauth/introspect"
        )
        self.jwks = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True, lifespan=300)
        basic = f"{config.client_id}:{config.client_secret}".encode()
        self.authorization = "Basic " + base64.b64encode(basic).decode()

    def http(self) -> requests.Session:
        session: requests.Session | None = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; raises jwt.PyJWTError."""
        if len(token) > MAX_TOKEN:
            raise jwt.InvalidTokenError("oversized")
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token")
        key = self.jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=self.audience,
            issuer=self.issuer,
            leeway=5,
            options={"require": ["iss", "aud", "sub", "jti", "exp"], "strict_aud": True},
        )
        return claims

    def introspect(self, token: str) -> dict[str, Any]:
        response = self.http().post(
            self.introspection_endpoint,
            data={"token": token, "token_type_hint": "access_token"},
            headers={"Authorization": self.authorization},
            timeout=self.config.timeout,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def grants(access: dict[str, Any] | None) -> bool:
    """Access has the feature, and has not lapsed at its `valid_until`."""
    if not access or FEATURE not in (access.get("features") or []):
        return False
    until = access.get("valid_until")
    return not until or datetime.fromisoformat(until).timestamp() > time.time()


def bearer_error(status: int, error: str, description: str) -> Response:
    header = f'Bearer realm="reports", error="{error}", error_description="{description}"'
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers={"WWW-Authenticate": header})


def create_app(config: Config | None = None) -> Starlette:
    config = config or Config.from_env()
    tollgate = Tollgate(config)
    known = Known()

    def allowed_by_push(token: str, claims: dict[str, Any]) -> bool:
        jti, user_id = str(claims["jti"]), int(claims["sub"])
        with known.lock:
            if jti in known.dead:
                return False
            trusted = known.tokens.get(jti) == user_id and user_id in known.access
            before = known.changes[user_id]
        for _ in range(3):
            if trusted:
                break
            answer = tollgate.introspect(token)
            with known.lock:
                if not answer.get("active"):
                    known.dead.add(jti)
                    return False
                # An event that arrived while we asked may be newer than the answer: ask again.
                trusted = known.changes[user_id] == before
                if trusted:
                    known.access[user_id] = (0.0, answer.get("access") or {})
                    known.tokens[jti] = user_id
                before = known.changes[user_id]
        else:
            return grants(answer.get("access"))  # events keep coming: the newest answer
        with known.lock:
            return grants(known.access[user_id][1])

    def reports(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="reports"'})
        try:
            claims = tollgate.verify(token.strip())
        except (jwt.PyJWTError, ValueError):
            return bearer_error(401, "invalid_token", "The access token is not valid.")
        try:
            if config.mode == "introspection":
                answer = tollgate.introspect(token.strip())
                if not answer.get("active"):
                    return bearer_error(401, "invalid_token", "The access token is not active.")
                allowed = grants(answer.get("access"))
            else:
                allowed = allowed_by_push(token.strip(), claims)
        except requests.RequestException:
            log.warning("Tollgate did not answer an introspection")
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        if not allowed:
            if config.mode == "push" and claims["jti"] in known.dead:
                return bearer_error(401, "invalid_token", "The access token is not active.")
            return bearer_error(403, "insufficient_scope", "Your plan does not include reports.")
        user_id = int(claims["sub"])
        return JSONResponse(
            {"user": user_id, "reports": [{"name": "Monthly revenue", "rows": 12}]},
            headers={"Cache-Control": "no-store"},
        )

    async def events(request: Request) -> Response:
        body = await request.body()
        try:
            event = Webhook(config.events_secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            return Response(status_code=400)
        message_id = request.headers.get("webhook-id", "")
        data = event.get("data") or {}
        user_id = int((data.get("user") or {}).get("id", 0))
        with known.lock:
            if message_id in known.seen:
                return Response(status_code=204)
            known.seen[message_id] = None
            while len(known.seen) > SEEN_IDS:
                known.seen.popitem(last=False)
            known.changes[user_id] += 1
            if event.get("type") == "access.changed":
                stamp = datetime.fromisoformat(str(event["timestamp"])).timestamp()
                if stamp >= known.access.get(user_id, (0.0, {}))[0]:  # a retry comes late
                    known.access[user_id] = (stamp, data.get("access") or {})
            elif event.get("type") == "session.ended":
                for jti in [j for j, uid in known.tokens.items() if uid == user_id]:
                    del known.tokens[jti]
        return Response(status_code=204)

    def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "mode": config.mode})

    routes = [Route("/reports", reports), Route("/healthz", health)]
    if config.mode == "push":
        routes.append(Route("/events", events, methods=["POST"]))
    return Starlette(routes=routes)


def __getattr__(name: str) -> Any:
    """`uvicorn examples.reports_service.app:app` builds the app from the environment."""
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
