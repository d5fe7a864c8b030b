"""A fake of the OAuth providers' far side, answering at `requests.Session.request`.

allauth's real views, clients and parsers run; only the HTTP calls they make are answered
here, by URL, with JSON fixtures shaped like each provider's real API. The fake is stateful
like a real authorization server: `authorize()` plays the user approving on the provider's
page and issues a one-time code bound to the client, redirect URI and PKCE challenge; the
token endpoint redeems it; the profile endpoints want the access token it handed out.
Any URL it does not know fails the test, so nothing can reach a real provider.
"""

import base64
import copy
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.structures import CaseInsensitiveDict

FIXTURES = Path(__file__).parent / "fixtures" / "oauth"
CLIENT_ID = "tollgate-test-client"
CLIENT_SECRET = "tollgate-test-secret"
OIDC_SERVER_URL = "https://id.example.test/realms/main"

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GITHUB_TOKEN_URL = "https://github.com/login/oauth/access_token"
GITHUB_API = "https://api.github.com"
DISCORD_TOKEN_URL = "https://discord.com/api/oauth2/token"
DISCORD_ME_URL = "https://discord.com/api/users/@me"
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
MICROSOFT_ME_URL = "https://graph.microsoft.com/v1.0/me"


class UnexpectedRequestError(AssertionError):
    """Code under test called a URL the fake does not serve (it would have left the box)."""


def fixture(name: str) -> Any:
    """A fresh copy of `fixtures/oauth/<name>.json`, safe to modify."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@cache
def _signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def id_token(claims: dict[str, Any], *, lifetime: int = 3600) -> str:
    """An RS256 id_token with fresh iat/exp, as providers send it (allauth skips the
    signature in the code flow because the token came straight from the token endpoint)."""
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + lifetime}
    return jwt.encode(payload, _signing_key(), algorithm="RS256", headers={"kid": "test-key"})


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Call:
    method: str
    url: str  # without the query string; query parameters are in `params`
    params: dict[str, Any]
    data: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str | None


@dataclass
class _Reply:
    status: int
    body: Any
    form_encoded: bool = False


Handler = Callable[[Call, Any], _Reply]


@dataclass
class FakeProviders:
    """Routes `(METHOD, url)` to handlers; every request made is kept in `calls`."""

    client_id: str = CLIENT_ID
    calls: list[Call] = field(default_factory=list)
    _routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    _grants: dict[str, _Grant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The issuer's discovery document is public and needed before any user is involved.
        discovery = fixture("oidc_discovery")
        self._routes["GET", f"{OIDC_SERVER_URL}/.well-known/openid-configuration"] = (
            lambda call, auth: _Reply(200, discovery)
        )

    # --- the user's side: approving or refusing on the provider's page ---------------

    def authorize(self, authorize_url: str) -> str:
        """Approve the request; return the callback path + query the provider redirects to."""
        query = _query(authorize_url)
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            code_challenge=query.get("code_challenge"),
        )
        return _callback(query, code=code, state=query.get("state"))

    def deny(self, authorize_url: str) -> str:
        """The user pressed "Cancel": the provider redirects back with an OAuth error."""
        query = _query(authorize_url)
        return _callback(query, error="access_denied", state=query.get("state"))

    # --- what allauth sees -----------------------------------------------------------

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Stands in for `requests.Session.request` (bound as a method, see `install`)."""
        parts = urlsplit(url)
        bare_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        params.update(kwargs.get("params") or {})
        call = Call(
            method=method.upper(),
            url=bare_url,
            params=params,
            data=dict(kwargs.get("data") or {}),
            headers=dict(kwargs.get("headers") or {}),
        )
        self.calls.append(call)
        handler = self._routes.get((call.method, bare_url))
        if handler is None:
            raise UnexpectedRequestError(f"no fake for {call.method} {url}")
        return _response(call, handler(call, kwargs.get("auth")))

    def called(self, method: str, url: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.url == url]

    # --- the providers ----------------------------------------------------------------

    def google(self, *, email: str, email_verified: bool = True) -> None:
        claims = fixture("google_id_token_claims")
        claims.update(aud=self.client_id, azp=self.client_id, email=email)
        claims["email_verified"] = email_verified
        token = fixture("google_token")
        token["id_token"] = id_token(claims)
        self._token_endpoint(GOOGLE_TOKEN_URL, token)

    def github(self, *, email: str, verified: bool = True) -> None:
        token = fixture("github_token")
        emails = fixture("github_user_emails")
        emails[0].update(email=email, verified=verified)
        # Without `Accept: application/json` GitHub answers the token form-encoded.
        self._token_endpoint(GITHUB_TOKEN_URL, token, form_encoded=True)
        self._resource("GET", f"{GITHUB_API}/user", token, fixture("github_user"), "token")
        self._resource("GET", f"{GITHUB_API}/user/emails", token, emails, "token")

    def discord(self, *, email: str, verified: bool = True) -> None:
        token = fixture("discord_token")
        user = fixture("discord_user")
        user.update(email=email, verified=verified)
        self._token_endpoint(DISCORD_TOKEN_URL, token)
        self._resource("GET", DISCORD_ME_URL, token, user)

    def microsoft(self, *, email: str) -> None:
        token = fixture("microsoft_token")
        me = fixture("microsoft_me")
        me.update(mail=email, userPrincipalName=email)
        self._token_endpoint(MICROSOFT_TOKEN_URL, token)
        self._resource("GET", MICROSOFT_ME_URL, token, me)

    def openid_connect(self, *, email: str, email_verified: bool = True) -> None:
        """A Keycloak-shaped issuer at OIDC_SERVER_URL."""
        discovery = fixture("oidc_discovery")
        claims = fixture("oidc_id_token_claims")
        claims.update(aud=self.client_id, azp=self.client_id, email=email, jti=str(uuid.uuid4()))
        claims["email_verified"] = email_verified
        userinfo = fixture("oidc_userinfo")
        userinfo.update(email=email, email_verified=email_verified)
        token = fixture("oidc_token")
        token["id_token"] = id_token(claims)
        self._token_endpoint(discovery["token_endpoint"], token)
        self._resource("GET", discovery["userinfo_endpoint"], token, userinfo)

    # --- building blocks ------------------------------------------------------------

    def _token_endpoint(
        self, url: str, token: dict[str, Any], *, form_encoded: bool = False
    ) -> None:
        def redeem(call: Call, auth: Any) -> _Reply:
            grant = self._grants.pop(call.data.get("code", ""), None)  # codes are one-time
            client_id = call.data.get("client_id") or getattr(auth, "username", None)
            if (
                grant is None
                or call.data.get("grant_type") != "authorization_code"
                or call.data.get("redirect_uri") != grant.redirect_uri
                or client_id != grant.client_id
                or not _pkce_ok(grant, call.data.get("code_verifier"))
            ):
                return _Reply(400, {"error": "invalid_grant"})
            return _Reply(200, token, form_encoded=form_encoded)

        self._routes["POST", url] = redeem

    def _resource(
        self, method: str, url: str, token: dict[str, Any], body: Any, scheme: str = "Bearer"
    ) -> None:
        expected = f"{scheme} {token['access_token']}"

        def serve(call: Call, auth: Any) -> _Reply:
            if call.headers.get("Authorization") != expected:
                return _Reply(401, {"error": "invalid_token"})
            return _Reply(200, copy.deepcopy(body))

        self._routes[method, url] = serve


def install(monkeypatch: Any, fake: FakeProviders) -> FakeProviders:
    """Patch `requests.Session.request` so every session allauth opens talks to `fake`."""

    def session_request(session: requests.Session, method: str, url: str, **kw: Any) -> Any:
        return fake.request(method, url, **kw)

    monkeypatch.setattr(requests.Session, "request", session_request)
    return fake


def _pkce_ok(grant: _Grant, verifier: str | None) -> bool:
    if grant.code_challenge is None:
        return verifier is None
    return verifier is not None and pkce_challenge(verifier) == grant.code_challenge


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _callback(authorize_query: dict[str, str], **params: str | None) -> str:
    redirect = urlsplit(authorize_query["redirect_uri"])
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{redirect.path}?{query}"


def _response(call: Call, reply: _Reply) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.status
    response.url = call.url
    if reply.form_encoded:
        response._content = urlencode(reply.body).encode()
        content_type = "application/x-www-form-urlencoded; charset=utf-8"
    else:
        response._content = json.dumps(reply.body).encode()
        content_type = "application/json; charset=utf-8"
    response.headers = CaseInsensitiveDict({"Content-Type": content_type})
    response.encoding = "utf-8"
    return response
