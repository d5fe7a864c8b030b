"""SessionTimeoutMiddleware: what counts as activity. Polling reads never extend a session."""

from types import SimpleNamespace

import pytest
from allauth.usersessions.models import UserSession
from django.urls import reverse

from apps.accounts import middleware, receivers
from tests.reliability.conftest import sign_in, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """A stopped clock for the session's timestamps, moved by hand: the login's stamp
    (receivers) and the middleware's checks read it, not the process-wide `time.time`,
    so a second ticking by on a slow machine cannot move the idle boundary."""
    start = int(middleware.time.time())
    offset = SimpleNamespace(seconds=0)
    frozen = SimpleNamespace(time=lambda: start + offset.seconds)
    monkeypatch.setattr(middleware, "time", frozen)
    monkeypatch.setattr(receivers, "time", frozen)
    return offset


@pytest.fixture
def browser(client, user, password, settings, clock):  # type: ignore[no-untyped-def]
    settings.SESSION_IDLE_TIMEOUT = 300
    assert sign_in(client, email=verified(user).email, password=password).status_code == 302
    return client


def test_polling_api_session_past_the_idle_timeout_still_ends_the_session(browser, clock):
    for clock.seconds in range(60, 301, 60):  # every minute, for the whole idle window
        assert browser.get(reverse("api_session")).status_code == 200

    clock.seconds = 301
    response = browser.get(reverse("api_session"))

    assert response.status_code == 401
    assert not response.wsgi_request.user.is_authenticated
    assert browser.get(reverse("web:dashboard")).status_code == 302  # signed out for good


def test_head_requests_and_health_probes_are_not_activity(browser, clock, user):
    for clock.seconds in (100, 200, 300):
        browser.head(reverse("web:dashboard"))
        browser.get(reverse("core:healthz"))
        browser.get(reverse("core:readyz"))

    clock.seconds = 301
    assert browser.get(reverse("web:dashboard")).wsgi_request.user.is_anonymous


def test_a_page_view_is_activity_and_restarts_the_idle_window(browser, clock, user):
    clock.seconds = 250
    assert browser.get(reverse("web:dashboard")).status_code == 200
    for clock.seconds in (300, 400, 500):
        assert browser.get(reverse("api_session")).status_code == 200

    clock.seconds = 551
    assert browser.get(reverse("api_session")).status_code == 401


def test_polling_does_not_move_last_seen_in_the_sessions_list(browser, clock, user):
    [session] = UserSession.objects.filter(user=user)
    at_login = session.last_seen_at

    for clock.seconds in (60, 120, 180):
        browser.get(reverse("api_session"))

    session.refresh_from_db()
    assert session.last_seen_at == at_login
