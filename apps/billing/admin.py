"""Admin: each user's current Access, with "refresh from Stripe" and "clear access cache".

Billing extends the accounts User admin rather than accounts knowing about billing.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from apps.accounts.admin import UserAdmin
from apps.accounts.models import User
from apps.core.errors import ApplicationError

from . import services
from .access import cache as access_cache
from .access.resolver import access_compute


class BillingUserAdmin(UserAdmin):
    readonly_fields = (*UserAdmin.readonly_fields, "current_access")
    fieldsets = (*UserAdmin.fieldsets, ("Access", {"fields": ("current_access",)}))  # type: ignore[assignment]
    actions = (*UserAdmin.actions, "refresh_from_stripe", "clear_access_cache")
    change_form_template = "admin/billing/user/change_form.html"

    @admin.display(description="Current access")
    def current_access(self, obj: User) -> str:
        if obj.pk is None:
            return "—"
        access = access_compute(obj.pk)
        try:
            cached = "yes" if access_cache.is_cached(obj.pk, now=timezone.now()) else "no"
        except Exception:  # the admin page must render even when Redis is down
            cached = "unknown (Redis unreachable)"
        rows = [
            ("Status", access.status),
            ("Plan", access.plan or "—"),
            ("Features", ", ".join(sorted(access.features)) or "—"),
            ("Valid until", access.valid_until or "—"),
            ("Cancels at period end", "yes" if access.cancel_at_period_end else "no"),
            ("In past-due grace", "yes" if access.in_grace else "no"),
            ("Cached in Redis", cached),
        ]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html("<table>{}</table>", body)

    @admin.action(description="Refresh access from Stripe")
    def refresh_from_stripe(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            self._refresh(request, user)

    @admin.action(description="Clear access cache")
    def clear_access_cache(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        services.access_invalidate(user_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, "Access cache cleared.", messages.SUCCESS)

    def _refresh(self, request: HttpRequest, user: User) -> None:
        try:
            count = services.subscriptions_refresh(user=user)
        except ApplicationError as exc:
            self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
        else:
            self.message_user(request, f"{user}: synced {count} subscription(s).", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        def post_view(name: str, handler: Any) -> URLPattern:
            view = self.admin_site.admin_view(require_POST(handler))
            return path(
                f"<int:user_id>/{name}/", view, name=f"accounts_user_{name.replace('-', '_')}"
            )

        return [
            post_view("refresh-access", self.refresh_view),
            post_view("clear-access", self.clear_view),
            *super().get_urls(),
        ]

    def _target(self, request: HttpRequest, user_id: int) -> User:
        user = get_object_or_404(User, pk=user_id)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        return user

    def _back(self, user: User) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    def refresh_view(self, request: HttpRequest, user_id: int) -> HttpResponseRedirect:
        user = self._target(request, user_id)
        self._refresh(request, user)
        return self._back(user)

    def clear_view(self, request: HttpRequest, user_id: int) -> HttpResponseRedirect:
        user = self._target(request, user_id)
        services.access_invalidate(user_ids=[user.pk])
        self.message_user(request, "Access cache cleared.", messages.SUCCESS)
        return self._back(user)


admin.site.unregister(User)
admin.site.register(User, BillingUserAdmin)
