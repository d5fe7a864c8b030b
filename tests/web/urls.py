"""The site's routes plus pages that always fail, to show the error pages in a browser.

Each fails the way it does in production, so what the browser gets is what a member
gets: Django's handler403 for PermissionDenied, Django's handler500 (DEBUG is off in
tests) for an exception nothing handles, and the project's ServiceUnavailableMiddleware
for an outage of Redis met inside a view.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from redis.exceptions import ConnectionError as RedisConnectionError

from config import urls as site_urls


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def server_error(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view (tests.web.urls)")


def service_unavailable(request: HttpRequest) -> HttpResponse:
    # What redis-py raises when the server is down.
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


# The site's own error handlers, should it name any (Django's defaults otherwise).
handler403 = getattr(site_urls, "handler403", "django.views.defaults.permission_denied")
handler404 = getattr(site_urls, "handler404", "django.views.defaults.page_not_found")
handler500 = getattr(site_urls, "handler500", "django.views.defaults.server_error")

urlpatterns = [
    path("forbidden/", forbidden),
    path("server-error/", server_error),
    path("service-unavailable/", service_unavailable),
    *site_urls.urlpatterns,
]
