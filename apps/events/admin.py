"""Admin: endpoints (the secret shown once), events, and each delivery's log."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import services
from .models import EVENT_TYPES, Attempt, Delivery, Endpoint, Event

SECRET_TEMPLATE = "admin/events/endpoint/secret.html"  # noqa: S105 - a template name


class EndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=list(EVENT_TYPES.items()), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ("name", "url", "event_types", "is_active")


def _secret_page(request: HttpRequest, endpoint: Endpoint, secret: str) -> HttpResponse:
    """The secret, in this response only: never in a message, a cookie or the session
    (admin views are never cached)."""
    context = {"endpoint": endpoint, "secret": secret, "title": f"Signing secret of {endpoint}"}
    return TemplateResponse(request, SECRET_TEMPLATE, context)


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("name", "url", "types", "is_active", "secret_hint", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("secret_hint", "created_at")
    actions = ("rotate_secret",)

    @admin.display(description="Event types")
    def types(self, obj: Endpoint) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="Signing secret")
    def secret_hint(self, obj: Endpoint) -> str:
        return obj.secret_hint if obj.pk else "generated when saved, shown once"

    def response_add(self, request: HttpRequest, obj: Endpoint, *args: Any) -> HttpResponse:
        return _secret_page(request, obj, obj.secret)

    @admin.action(description="Rotate the signing secret (shown once)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, "Rotate one endpoint at a time.", messages.ERROR)
            return None
        endpoint = queryset.get()
        return _secret_page(request, endpoint, services.endpoint_secret_rotate(endpoint=endpoint))


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ("number", "started_at", "status_code", "latency_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Delivery log"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    )
    list_filter = ("status", "endpoint", "event__type")
    search_fields = ("event__id", "event__subject")
    list_select_related = ("event", "endpoint")
    fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_attempt",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "job_id",
        "created_at",
        "body",
    )
    readonly_fields = fields
    inlines = (AttemptInline,)
    actions = ("retry_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Body (signed)")
    def body(self, obj: Delivery) -> str:
        return obj.event.body

    @admin.action(description="Retry now (same webhook-id)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset:
            services.delivery_retry_now(delivery=delivery)
            count += 1
        self.message_user(request, f"Queued {count} delivery(ies) again.", messages.SUCCESS)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("endpoint", "status", "attempts", "next_attempt_at", "delivered_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "subject", "created_at")
    list_filter = ("type",)
    search_fields = ("id", "subject")
    fields = ("id", "type", "subject", "created_at", "body")
    readonly_fields = fields
    inlines = (DeliveryInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
