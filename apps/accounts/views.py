"""Account views allauth does not provide: ending one chosen session."""

from allauth.account.internal.flows.logout import logout
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import View

from . import services


class SessionEndView(LoginRequiredMixin, View):
    """POST: sign out one of the user's own sessions (this one included)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        ended_key = services.session_end(user=request.user, user_session_id=pk)  # type: ignore[arg-type]
        if ended_key is None:
            messages.error(request, "That session was already signed out.")
        elif ended_key == request.session.session_key:
            logout(request)
            return redirect("account_login")
        else:
            messages.success(request, "That device is signed out.")
        return redirect("usersessions_list")
