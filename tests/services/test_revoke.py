"""POST /oauth/revoke (RFC 7009): a service ends a member's session by its id."""

import pytest
from allauth.usersessions.models import UserSession
from django.urls import reverse

from apps.services import services

from .conftest import session_id

pytestmark = pytest.mark.django_db


def signed_in(browser) -> bool:  # type: ignore[no-untyped-def]
    return bool(browser.get(reverse("web:home")).wsgi_request.user.is_authenticated)


def test_revoking_a_session_signs_its_browser_out_on_the_next_request(
    sign_in, browser, revoke, introspect
):
    other = sign_in()
    token = session_id(browser)
    assert introspect(token).json()["active"] is True
    assert signed_in(browser)  # its copy is cached (and near-cached) now

    response = revoke(token, token_type_hint="session_id")

    assert response.status_code == 200
    assert response.content == b""
    assert not signed_in(browser)
    assert introspect(token).json() == {"active": False}
    assert not UserSession.objects.filter(session_key=token).exists()  # the list's row too
    assert signed_in(other)  # the member's other devices stay signed in
    assert introspect(session_id(other)).json()["active"] is True


def test_revoking_goes_through_the_sessions_adapter(browser, revoke, monkeypatch):
    """The same path as "sign out other devices", so every copy is invalidated."""
    from allauth.usersessions.adapter import DefaultUserSessionsAdapter

    ended = []
    original = DefaultUserSessionsAdapter.end_sessions

    def spy(self, sessions):  # type: ignore[no-untyped-def]
        ended.extend(s.session_key for s in sessions)
        original(self, sessions)

    monkeypatch.setattr(DefaultUserSessionsAdapter, "end_sessions", spy)
    token = session_id(browser)

    revoke(token)

    assert ended == [token]


@pytest.mark.parametrize("token", ["unknown", "1-" + "a" * 38, "x" * 40])
def test_an_unknown_token_is_200_too(token, revoke):
    assert revoke(token).status_code == 200


def test_revoking_twice_is_200_both_times(browser, revoke):
    token = session_id(browser)

    assert revoke(token).status_code == 200
    assert revoke(token).status_code == 200


def test_a_service_not_allowed_to_revoke_is_refused(browser, issued, revoke):
    issued.service.may_revoke = False
    issued.service.save()
    token = session_id(browser)

    response = revoke(token)

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert signed_in(browser)


def test_a_revoked_service_can_neither_introspect_nor_revoke(
    browser, issued, revoke, introspect, django_capture_on_commit_callbacks
):
    token = session_id(browser)
    with django_capture_on_commit_callbacks(execute=True):
        services.service_revoke(service=issued.service)

    assert introspect(token).status_code == 401
    assert revoke(token).status_code == 401
    assert signed_in(browser)


def test_a_missing_token_is_400(revoke):
    assert revoke().status_code == 400


def test_bad_credentials_are_401(browser, revoke):
    response = revoke(session_id(browser), auth="")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic realm=")
    assert signed_in(browser)


def test_a_revocation_redis_has_not_confirmed_is_503_and_still_ended(
    browser, revoke, introspect, monkeypatch
):
    from apps.accounts import services as accounts_services

    def not_confirmed(*, user_id: int) -> None:
        raise accounts_services.SignOutNotConfirmedError("not confirmed yet")

    monkeypatch.setattr(accounts_services, "_confirm_ended", not_confirmed)
    token = session_id(browser)

    response = revoke(token)

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable"}
    assert response["Retry-After"]
    assert not signed_in(browser)  # ended in Postgres all the same
