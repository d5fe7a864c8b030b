"""Top-level routes: each app owns its own urls module."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.web.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]
