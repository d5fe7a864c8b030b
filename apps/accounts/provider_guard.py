"""HEAD on a provider's login URL is refused (405) instead of starting the OAuth flow.

allauth shows a confirmation page for GET and starts the flow for every other method, HEAD
included, so a link checker or preview bot issuing HEAD would get a fresh authorization
redirect (and a state stored in the session) for nothing. The flow starts only on POST.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from allauth.socialaccount.providers import registry
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed


@cache
def _login_url_names() -> frozenset[str]:
    # allauth names every provider's login URL `<provider id>_login`.
    return frozenset(f"{provider.id}_login" for provider in registry.get_class_list())


class ProviderLoginHeadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method == "HEAD" and match and match.url_name in _login_url_names():
            return HttpResponseNotAllowed(["GET", "POST"])
        return None
