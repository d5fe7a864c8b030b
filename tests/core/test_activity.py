"""Which requests count as activity (apps/core/activity.py)."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from apps.billing.api import session_introspect
from apps.core.activity import counts_as_activity, not_activity
from apps.core.health import healthz, readyz


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_a_request_to_an_ordinary_view_is_activity(method):
    assert counts_as_activity(getattr(RequestFactory(), method)("/"), page)


@pytest.mark.parametrize("method", ["head", "options"])
def test_head_and_options_are_not_activity(method):
    assert not counts_as_activity(getattr(RequestFactory(), method)("/"), page)


@pytest.mark.parametrize("view", [session_introspect, healthz, readyz])
def test_introspection_and_health_views_are_not_activity(view):
    assert not counts_as_activity(RequestFactory().get("/"), view)


def test_not_activity_returns_the_view_itself():
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert not_activity(view) is view
