"""Declaring what a view needs: `@access_required(...)` and `AccessRequiredMixin`."""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from .. import pages
from ..selectors import feature_names
from .requests import AccessRequest
from .rules import Access

View = Callable[..., HttpResponse]


def _as_set(value: str | Iterable[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else value)


def allows(access: Access, *, features: frozenset[str], plans: frozenset[str]) -> bool:
    """Every listed feature, and (if plans are listed) one of those plans."""
    return all(access.has(f) for f in features) and (not plans or access.plan in plans)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def deny(
    request: AccessRequest, *, features: frozenset[str], plans: frozenset[str]
) -> HttpResponse:
    """Anonymous: sign in first. JSON: 403 with the reason. HTML: pricing with a message."""
    if not request.user.is_authenticated:
        if _wants_json(request):
            return JsonResponse({"error": "authentication_required"}, status=401)
        return redirect_to_login(request.get_full_path())
    access = request.access
    if _wants_json(request):
        body = {
            "error": "subscription_required",
            "required": {"features": sorted(features), "plans": sorted(plans)},
            "status": access.status,
        }
        return JsonResponse(body, status=403)
    needs = feature_names(features) if features else sorted(plans)
    messages.warning(
        request,
        f"This page needs a plan that includes {', '.join(needs)}."
        if features
        else f"This page needs the {' or '.join(needs)} plan.",
    )
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{pages.url('pricing')}?{query}")


def access_required(
    *, feature: str | Iterable[str] | None = None, plan: str | Iterable[str] | None = None
) -> Callable[[View], View]:
    """Gate a function view: `@access_required(feature="reports")`."""
    features, plans = _as_set(feature), _as_set(plan)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: AccessRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and allows(
                request.access, features=features, plans=plans
            ):
                return view(request, *args, **kwargs)
            return deny(request, features=features, plans=plans)

        return wrapped

    return decorator


class AccessRequiredMixin(UserPassesTestMixin):
    """Gate a class view: set `required_feature` and/or `required_plan`.

    Django's `UserPassesTestMixin` runs the test before the view; a failure is answered
    by `deny`: sign in first, or pricing (HTML) / 403 (JSON) with what is missing.
    """

    required_feature: str | Iterable[str] | None = None
    required_plan: str | Iterable[str] | None = None
    request: HttpRequest  # set by View.setup

    def _required(self) -> tuple[frozenset[str], frozenset[str]]:
        return _as_set(self.required_feature), _as_set(self.required_plan)

    def _gated(self) -> AccessRequest:
        return cast(AccessRequest, self.request)  # AccessMiddleware attached the access

    def test_func(self) -> bool:
        features, plans = self._required()
        request = self._gated()
        return request.user.is_authenticated and allows(
            request.access, features=features, plans=plans
        )

    # The stubs narrow this to a redirect; Django returns whatever response it gives,
    # and a JSON client is answered 401/403 rather than redirected.
    def handle_no_permission(self) -> HttpResponse:  # type: ignore[override]
        features, plans = self._required()
        return deny(self._gated(), features=features, plans=plans)
