"""Account views: the sessions list kept fresh, and ending one chosen session or all others."""

from typing import Any

from allauth.account.adapter import get_adapter as account_adapter
from allauth.usersessions.models import UserSession
from allauth.usersessions.views import ListUserSessionsView
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views import View

from . import last_seen, services
from .requests import AuthenticatedRequest


class SessionListView(ListUserSessionsView):
    """allauth's sessions page, with "last seen" written for this user's sessions first
    (the batch that writes everyone's runs once a minute: last_seen.py)."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        keys = UserSession.objects.filter(user_id=self.request.user.pk)
        last_seen.flush_for(keys.values_list("session_key", flat=True))
        return super().get_context_data(**kwargs)


class SessionEndView(LoginRequiredMixin, View):
    """POST: sign out one of the user's own sessions (this one included)."""

    def post(self, request: AuthenticatedRequest, pk: int) -> HttpResponse:
        try:
            ended_key = services.session_end(user=request.user, user_session_id=pk)
        except services.SignOutNotConfirmedError as exc:
            messages.error(request, exc.message)
            return redirect("usersessions_list")
        if ended_key is None:
            messages.error(request, "That session was already signed out.")
        elif ended_key == request.session.session_key:
            account_adapter(request).logout(request)
            return redirect("account_login")
        else:
            messages.success(request, "That device is signed out.")
        return redirect("usersessions_list")


class SessionsEndOthersView(LoginRequiredMixin, View):
    """POST: sign out every other device, and say whether every server has confirmed it."""

    def post(self, request: AuthenticatedRequest) -> HttpResponse:
        try:
            ended = services.sessions_end_all(
                user=request.user,
                keep_session_key=request.session.session_key,
            )
        except services.SignOutNotConfirmedError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Signed out {ended} other device{'s' if ended != 1 else ''}."
                if ended
                else "Every other device is signed out.",
            )
        return redirect("usersessions_list")
