"""POST /oauth/introspect (RFC 7662) for a member's session id."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.middleware import LAST_SEEN
from apps.accounts.signals import session_digest

from .conftest import basic, session_id

pytestmark = pytest.mark.django_db


def test_a_live_session_is_active_with_the_access_api_session_gives(
    browser, user, subscribe, introspect
):
    subscribe("pro_monthly")
    api_session = browser.get(reverse("api_session")).json()

    response = introspect(session_id(browser), token_type_hint="session_id")

    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["token_type"] == "session_id"
    assert body["sub"] == str(user.pk)
    assert body["username"] == body["email"] == user.email
    assert body["name"] == user.name
    assert body["access"] == api_session["access"]
    assert body["access"]["status"] == "active"
    assert body["exp"] > time.time()
    assert body["iat"] <= time.time()


def test_the_answer_names_the_session_as_session_ended_events_do(browser, introspect):
    """`sid` is the session's digest (`data.session.id` of a session.ended event), so a
    service can match what it cached to the event that ends it; never the key itself."""
    token = session_id(browser)

    body = introspect(token).json()

    assert body["sid"] == session_digest(token)
    assert token not in body.values()


def test_the_hint_only_orders_the_search(browser, introspect):
    for fields in ({}, {"token_type_hint": "access_token"}, {"token_type_hint": "nonsense"}):
        assert introspect(session_id(browser), **fields).json()["active"] is True


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "0" * 40,
        "999999-" + "a" * 33,
        "anonymoussessionkeyanonymoussessionkey00",
        "1-" + "A" * 38,  # not the characters Django uses
    ],
)
def test_anything_unknown_is_inactive_and_nothing_more(token, introspect):
    response = introspect(token)

    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_a_signed_out_session_is_inactive(browser, introspect):
    token = session_id(browser)
    assert introspect(token).json()["active"] is True

    browser.post(reverse("account_logout"))

    assert introspect(token).json() == {"active": False}


def test_a_session_ended_from_another_device_is_inactive(sign_in, browser, introspect):
    other = sign_in()
    token = session_id(browser)
    assert introspect(token).json()["active"] is True

    other.post(reverse("accounts:sessions_end_others"))

    assert introspect(token).json() == {"active": False}
    assert introspect(session_id(other)).json()["active"] is True


def test_a_password_change_elsewhere_makes_the_session_inactive(
    user, browser, introspect, django_capture_on_commit_callbacks
):
    token = session_id(browser)
    assert introspect(token).json()["active"] is True

    with django_capture_on_commit_callbacks(execute=True):
        user.set_password("a completely different passphrase")
        user.save()

    assert introspect(token).json() == {"active": False}


def test_a_deactivated_members_session_is_inactive(
    user, browser, introspect, django_capture_on_commit_callbacks
):
    token = session_id(browser)
    assert introspect(token).json()["active"] is True

    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()

    assert introspect(token).json() == {"active": False}


def test_an_idle_session_is_inactive_before_the_browser_comes_back(browser, introspect, settings):
    token = session_id(browser)
    session = browser.session
    session[LAST_SEEN] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()

    assert introspect(token).json() == {"active": False}


def test_exp_is_when_the_idle_timeout_would_end_the_session(browser, introspect, settings):
    body = introspect(session_id(browser)).json()

    assert body["exp"] == browser.session[LAST_SEEN] + settings.SESSION_IDLE_TIMEOUT


def test_introspection_is_not_activity(browser, introspect):
    """Polling it must not keep a session alive (as /api/session)."""
    token = session_id(browser)
    session = browser.session
    session[LAST_SEEN] = stale = int(time.time()) - 3 * 3600
    session.save()

    introspect(token)

    assert browser.session[LAST_SEEN] == stale


def test_a_signed_past_due_webhook_shows_on_the_very_next_introspection(
    browser, subscribe, introspect, fake_stripe, send_event
):
    sub = subscribe("pro_monthly")
    token = session_id(browser)
    assert introspect(token).json()["access"]["status"] == "active"
    assert introspect(token).json()["access"]["status"] == "active"  # cached now

    updated = fake_stripe.update(sub["id"], status="past_due")
    assert send_event("customer.subscription.updated", updated).status_code == 200

    access = introspect(token).json()["access"]
    assert access["status"] == "past_due"
    assert access["stripe_status"] == "past_due"
    assert "reports" not in access["features"]


def test_answers_are_never_stored_by_caches(browser, introspect):
    for token in (session_id(browser), "unknown"):
        assert "no-store" in introspect(token)["Cache-Control"]


# --- Bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "Bearer abc",
        "Basic !!!notbase64",
        basic("svc_" + "0" * 24, "tgs_wrong"),
    ],
)
def test_bad_service_credentials_are_401_invalid_client(auth, browser, introspect):
    response = introspect(session_id(browser), auth=auth)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert response["WWW-Authenticate"] == 'Basic realm="tollgate"'


def test_the_wrong_secret_of_a_real_service_is_401(issued, browser, introspect):
    response = introspect(session_id(browser), auth=basic(issued.service.client_id, "tgs_x"))

    assert response.status_code == 401


def test_a_missing_token_is_400_invalid_request(introspect):
    response = introspect()

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_oversized_token_is_400(introspect, settings):
    response = introspect("a" * (settings.SERVICES_TOKEN_MAX_LENGTH + 1))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_oversized_body_is_400_before_it_is_read(issued, settings):
    body = "token=" + "a" * (settings.SERVICES_TOKEN_MAX_LENGTH * 2)
    response = Client().post(
        reverse("services:introspect"),
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(issued.service.client_id, issued.secret),
    )

    assert response.status_code == 400


def test_get_is_405(issued):
    response = Client().get(
        reverse("services:introspect"),
        HTTP_AUTHORIZATION=basic(issued.service.client_id, issued.secret),
    )

    assert response.status_code == 405


def test_credentials_are_checked_before_the_token(introspect):
    assert introspect(auth="").status_code == 401
