"""Two refreshes racing with one refresh token (a client retrying, or a thief and the
client at once), each in its own Postgres connection and transaction.

The rule (docs/architecture.md, "Refresh tokens rotate, and a replay ends the family"):
exactly one rotation can win, and the one that loses presented a token that was
rotated, i.e. a reuse, which ends the whole family as a later replay would."""

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client

from apps.accounts.tokens import strategy
from tests.accounts import headless

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_keys")]


@pytest.fixture
def tokens(user, password) -> dict[str, str]:  # type: ignore[no-untyped-def]
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return headless.sign_in(Client(), email=user.email, password=password)


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` at once, each on its own thread (so its own DB connection)."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def both_pass_the_check(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Widen the window between reading the session's valid `jti` and rotating it:
    each refresh waits (up to 2 s) for the other at the access token's issue, so
    without a lock both have read the old `jti` before either writes the new one."""
    issue = strategy._access_issue
    meet = threading.Barrier(2)

    def slowed(**kwargs: Any) -> str:
        # Broken after 2 s when the other is held elsewhere (by the lock): go on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)
        return issue(**kwargs)

    monkeypatch.setattr(strategy, "_access_issue", slowed)


def test_two_refreshes_with_one_token_never_both_win(tokens, both_pass_the_check):
    refresh = tokens["refresh_token"]

    answers = race(
        lambda: headless.refresh(Client(), refresh), lambda: headless.refresh(Client(), refresh)
    )

    assert sorted(a.status_code for a in answers) == [200, 400]


def test_the_loser_ends_the_family_the_winner_included(tokens, both_pass_the_check):
    refresh = tokens["refresh_token"]

    answers = race(
        lambda: headless.refresh(Client(), refresh), lambda: headless.refresh(Client(), refresh)
    )

    won = [a.json()["data"] for a in answers if a.status_code == 200]
    assert len(won) == 1
    assert headless.me(Client(), won[0]["access_token"]).status_code == 401
    assert headless.refresh(Client(), won[0]["refresh_token"]).status_code == 400
    assert headless.me(Client(), tokens["access_token"]).status_code == 401
