"""Services in the admin: created here, their secret shown once; rotate and revoke actions."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from apps.core.errors import ApplicationError

from . import services
from .models import Service

_ISSUED = "_tollgate_issued_secret"  # the add view's new secret, for its own response only


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "client_id", "is_active", "may_revoke", "created_at", "rotated_at")
    list_filter = ("is_active", "may_revoke")
    search_fields = ("name", "client_id")
    readonly_fields = (
        "client_id",
        "is_active",
        "created_at",
        "rotated_at",
        "previous_secret_valid_until",
        "revoked_at",
    )
    actions = ("rotate_secrets", "revoke")

    def get_fields(self, request: HttpRequest, obj: Service | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("name", "may_revoke")  # the client id and secret are made on save
        return ("name", "may_revoke", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Service, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        setattr(request, _ISSUED, [services.service_issue(service=obj)])

    def response_add(
        self, request: HttpRequest, obj: Service, post_url_continue: str | None = None
    ) -> HttpResponse:
        issued = getattr(request, _ISSUED, None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        return self._show_secrets(request, issued, title="Service created")

    @admin.action(description="Rotate the secret of the selected services")
    def rotate_secrets(
        self, request: HttpRequest, queryset: QuerySet[Service]
    ) -> HttpResponse | None:
        issued = []
        for service in queryset:
            try:
                issued.append(services.service_secret_rotate(service=service))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        if not issued:
            return None
        return self._show_secrets(request, issued, title="New secrets")

    @admin.action(description="Revoke the selected services (at once, for good)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        revoked = [s.name for s in queryset if services.service_revoke(service=s)]
        if revoked:
            self.message_user(request, f"Revoked: {', '.join(revoked)}.", messages.SUCCESS)
        else:
            self.message_user(request, "Those services were revoked already.", messages.INFO)

    def _show_secrets(
        self, request: HttpRequest, issued: list[services.IssuedSecret], *, title: str
    ) -> HttpResponse:
        """The one page that ever shows these secrets: rendered in the answer to the POST
        that made them (never a message, which the session or a cookie would keep)."""
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": title,
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/services/service/secrets.html", context)
        add_never_cache_headers(response)
        return response
