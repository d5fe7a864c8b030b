from typing import Any

from allauth.usersessions.models import UserSession
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from . import services
from .devices import device_description
from .models import SigningKey, User


class UserSessionInline(admin.TabularInline):
    """The user's signed-in sessions, read-only; ending them is a button on the page.

    Each row shows the device as people name it and, once, the raw user agent (for
    telling apart two of the same browser)."""

    model = UserSession
    fields = ("device", "user_agent", "created_at", "last_seen_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Active sessions"
    template = "admin/accounts/user/session_inline.html"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Device")
    def device(self, obj: UserSession) -> str:
        return device_description(user_agent=obj.user_agent, ip=obj.ip)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_staff", "date_joined")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = (UserSessionInline,)
    actions: tuple[str, ...] = ("end_sessions",)
    change_form_template = "admin/accounts/user/change_form.html"

    @admin.action(description="End all sessions of the selected users")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ended = [self._end_sessions(request, user) for user in queryset]
        if None not in ended:
            total = sum(n or 0 for n in ended)
            self.message_user(request, f"Ended {total} session(s).", messages.SUCCESS)

    def _end_sessions(self, request: HttpRequest, user: User) -> int | None:
        """How many sessions were ended; None (with an error shown) if not confirmed."""
        try:
            return services.sessions_end_all(user=user)
        except services.SignOutNotConfirmedError as exc:
            self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
            return None

    def get_urls(self) -> list[URLPattern]:
        end_view = self.admin_site.admin_view(require_POST(self.end_sessions_view))
        custom = [path("<int:user_id>/end-sessions/", end_view, name="accounts_user_end_sessions")]
        return custom + super().get_urls()

    def end_sessions_view(self, request: HttpRequest, user_id: int) -> HttpResponseRedirect:
        user = get_object_or_404(User, pk=user_id)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        ended = self._end_sessions(request, user)
        if ended is not None:
            self.message_user(request, f"Ended {ended} session(s) of {user}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Token signing keys, read-only: `manage.py tokens_rotate_key` makes them, and the
    private half (encrypted in the row) is not a field here at all."""

    list_display = ("kid", "algorithm", "signs_from", "created_at")
    fields = ("kid", "algorithm", "signs_from", "created_at", "public_pem")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a deleted key fails every token it signed; rotation retires keys
