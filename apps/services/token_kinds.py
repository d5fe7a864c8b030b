"""The kinds of token another service may introspect or revoke, and what it learns.

Each kind registers itself (in an AppConfig.ready) under the `token_type_hint` that
names it: a function that introspects a token of that kind (None: not one of ours, or
no longer valid) and one that ends it. Today there is one kind, `session_id`
(session_tokens.py); an API access token is one more `register` call with its own
verify function. A hint only decides which kind is asked first: RFC 7662 §2.1 and
RFC 7009 §2.1 have the server try the others when it is wrong or unknown.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.billing.access.rules import Access

INACTIVE: dict[str, Any] = {"active": False}  # all RFC 7662 §2.2 lets us say about a bad token


@dataclass(frozen=True)
class Introspection:
    """A valid token's answer: who it is for, until when, and what they may use now."""

    token_type: str
    user_id: int
    email: str
    name: str
    expires_at: int  # Unix time; the token may end sooner (sign-out, revocation)
    issued_at: int | None
    access: Access
    # The session's digest (apps.accounts.signals.session_digest): what a session.ended
    # event calls `data.session.id`, never the key (which would sign in).
    session_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        """RFC 7662 §2.2 members, plus `sid` (the session, as OpenID Connect names it),
        `name` and `access` (the Access codec, the shape `/api/session` returns)."""
        body: dict[str, Any] = {
            "active": True,
            "token_type": self.token_type,
            "sub": str(self.user_id),
            "username": self.email,
            "email": self.email,
            "name": self.name,
            "exp": self.expires_at,
        }
        if self.issued_at is not None:
            body["iat"] = self.issued_at
        if self.session_id is not None:
            body["sid"] = self.session_id
        body["access"] = self.access.as_json()
        return body


@dataclass(frozen=True)
class TokenKind:
    hint: str
    introspect: Callable[[str], Introspection | None]
    revoke: Callable[[str], bool]  # True if it ended something; never raises for unknown


_kinds: dict[str, TokenKind] = {}


def register(kind: TokenKind) -> TokenKind:
    """Idempotent, so a reloaded AppConfig registers nothing twice."""
    return _kinds.setdefault(kind.hint, kind)


def registered() -> tuple[TokenKind, ...]:
    return tuple(_kinds.values())


def _in_order(hint: str | None) -> list[TokenKind]:
    hinted = _kinds.get(hint or "")
    return [*([hinted] if hinted else []), *(k for k in _kinds.values() if k is not hinted)]


def introspect(token: str, *, hint: str | None = None) -> Introspection | None:
    """The first registered kind's answer for `token` (the hinted kind asked first)."""
    for kind in _in_order(hint):
        found = kind.introspect(token)
        if found is not None:
            return found
    return None


def revoke(token: str, *, hint: str | None = None) -> bool:
    """End `token` with the first kind that knows it; False when none does."""
    return any(kind.revoke(token) for kind in _in_order(hint))
