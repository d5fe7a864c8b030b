"""Gating on the request path: lazy request.access, the decorator and mixin, denials."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djstripe.models import Subscription

from apps.billing.access.gating import access_required
from apps.billing.access.rules import Access
from apps.core import state

pytestmark = pytest.mark.django_db

PRO = Access(status="active", plan="pro", features=frozenset({"reports", "exports"}))
FREE = Access(status="free", features=frozenset({"community"}))


@access_required(feature="exports")
def export_view(request):  # type: ignore[no-untyped-def]
    return HttpResponse("exported")


@access_required(plan="team")
def team_plan_view(request):  # type: ignore[no-untyped-def]
    return HttpResponse("team")


def djstripe_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "djstripe_" in q["sql"]]


def request_for(rf, user, access: Access, **headers: str):  # type: ignore[no-untyped-def]
    request = rf.get("/exports/?as=csv", headers=headers)
    request.user, request.access = user, access
    request._messages = CookieStorage(request)
    return request


def test_gated_page_on_a_warm_cache_makes_no_sql_for_the_access_decision(
    client, user, subscribe, redis_round_trips
):
    subscribe("pro_monthly")
    client.force_login(user)
    assert client.get(reverse("web:reports")).status_code == 200  # warms the caches
    state.invalidate([state.user(user.pk)])
    with CaptureQueriesContext(connection) as cold:
        assert client.get(reverse("web:reports")).status_code == 200
    cold_queries = cold.captured_queries  # read now: the next request resets the log
    client.get(reverse("web:reports"))  # re-reads the Access the cold request wrote
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as warm:
        assert client.get(reverse("web:reports")).status_code == 200

    assert [q for q in cold_queries if "djstripe_" in q["sql"]]
    assert djstripe_queries(warm) == []
    assert len(warm) < len(cold_queries)
    assert redis_round_trips == []  # a hit: this thread's near copies, no round trip


def test_denied_html_redirects_to_pricing_with_next_and_the_missing_feature(client, user, catalog):
    client.force_login(user)

    response = client.get(reverse("web:reports") + "?range=30d")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("web:pricing")
    assert parse_qs(location.query) == {"next": ["/reports/?range=30d"]}
    page = client.get(response["Location"])
    assert "This page needs a plan that includes Reports." in page.content.decode()


def test_denied_json_gets_403_with_the_reason(client, user, subscribe):
    subscribe("pro_monthly", status="canceled")
    client.force_login(user)

    response = client.get(reverse("web:team_space"), headers={"Accept": "application/json"})

    assert response.status_code == 403
    assert response.json() == {
        "error": "subscription_required",
        "required": {"features": ["team_space"], "plans": []},
        "status": "canceled",
    }


def test_denied_json_after_a_cancelled_period_ended_says_expired(client, user, subscribe):
    subscribe("pro_monthly", cancel_at_period_end=True, period_end=int(time.time()) - 60)
    client.force_login(user)

    response = client.get(reverse("web:reports"), headers={"Accept": "application/json"})

    assert response.status_code == 403
    assert response.json()["status"] == "expired"


def test_anonymous_gated_page_asks_to_sign_in(client):
    html = client.get(reverse("web:reports"))
    api = client.get(reverse("web:reports"), headers={"Accept": "application/json"})

    assert html.status_code == 302
    assert html["Location"].startswith(reverse("account_login"))
    assert api.status_code == 401
    assert api.json() == {"error": "authentication_required"}


def test_pro_subscriber_sees_reports_but_not_the_team_space(client, user, subscribe):
    subscribe("pro_monthly")
    client.force_login(user)

    assert client.get(reverse("web:reports")).status_code == 200
    team = client.get(reverse("web:team_space"), follow=True)
    assert team.redirect_chain[0][0].startswith(reverse("web:pricing"))
    assert "This page needs a plan that includes Team Space." in team.content.decode()


def test_team_subscriber_sees_the_team_space(client, user, subscribe):
    subscribe("team_monthly")
    client.force_login(user)

    assert client.get(reverse("web:team_space")).status_code == 200


def test_request_subscription_is_the_djstripe_row_behind_the_decision(client, user, subscribe):
    sub = subscribe("pro_monthly")
    client.force_login(user)

    request = client.get(reverse("web:reports")).wsgi_request

    assert isinstance(request.subscription, Subscription)
    assert request.subscription.id == sub["id"]
    assert request.access.subscription_id == sub["id"]


def test_request_subscription_is_none_without_a_subscription(client, user):
    client.force_login(user)

    subscription = client.get(reverse("web:home")).wsgi_request.subscription

    assert not subscription  # a lazy proxy of None: test it by truth, not identity


def test_decorator_runs_the_view_when_the_feature_is_granted(rf, user):
    response = export_view(request_for(rf, user, PRO))

    assert response.status_code == 200
    assert response.content == b"exported"


def test_decorator_denies_html_with_a_message_naming_the_feature(rf, user, catalog):
    request = request_for(rf, user, FREE)

    response = export_view(request)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:pricing") + "?next=%2Fexports%2F%3Fas%3Dcsv"
    assert [str(m) for m in request._messages] == ["This page needs a plan that includes Exports."]


def test_decorator_denies_json_with_403_and_the_status(rf, user):
    past_due = Access(status="past_due", features=frozenset({"community"}))

    response = export_view(request_for(rf, user, past_due, Accept="application/json"))

    body = json.loads(response.content)
    assert response.status_code == 403
    assert body["status"] == "past_due"
    assert body["required"] == {"features": ["exports"], "plans": []}


def test_decorator_gates_on_plan(rf, user):
    team = Access(status="active", plan="team", features=frozenset())
    request = request_for(rf, user, PRO)

    assert team_plan_view(request_for(rf, user, team)).status_code == 200
    assert team_plan_view(request).status_code == 302
    assert [str(m) for m in request._messages] == ["This page needs the team plan."]


def test_decorator_sends_anonymous_users_to_sign_in(rf):
    request = request_for(rf, AnonymousUser(), PRO)

    response = export_view(request)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
