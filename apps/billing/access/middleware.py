"""Attaches the lazy `request.access` and `request.subscription` to every request."""

from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from djstripe.models import Subscription

from .requests import AccessRequest
from .resolver import access_for_request
from .rules import Access


class AccessMiddleware:
    """Must come after AuthenticationMiddleware.

    Both attributes are lazy: a page that never looks pays nothing; a gated page pays
    one Redis round trip on a cache hit; `request.subscription` (the dj-stripe row
    behind the decision) costs a query only when read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        gated = cast(AccessRequest, request)  # this is where it becomes one

        def access() -> Access:
            return access_for_request(request)

        def subscription() -> Subscription | None:
            subscription_id = gated.access.subscription_id
            if not subscription_id:
                return None
            return Subscription.objects.filter(id=subscription_id).first()

        # The lazy objects stand in for what they wrap, which is what the casts say.
        gated.access = cast(Access, SimpleLazyObject(access))
        gated.subscription = cast(Subscription | None, SimpleLazyObject(subscription))
        return self.get_response(request)
