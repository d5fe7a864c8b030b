"""Billing endpoints: start Checkout, land after it, open the Customer Portal."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from apps.accounts.requests import AuthenticatedRequest
from apps.core.errors import ApplicationError

from . import pages, services
from .forms import CheckoutForm
from .stripe_api import StripeObjectMissingError


class CheckoutStartView(LoginRequiredMixin, View):
    """POST a price id; answer with a 303 to Stripe Checkout."""

    def post(self, request: AuthenticatedRequest) -> HttpResponse:
        form = CheckoutForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Please pick a plan.")
            return redirect(pages.url("pricing"))
        try:
            url = services.checkout_start(
                user=request.user,
                price_id=form.cleaned_data["price_id"],
                success_url=request.build_absolute_uri(reverse("billing:checkout_success")),
                cancel_url=request.build_absolute_uri(pages.url("pricing")),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(pages.url("pricing"))
        return HttpResponseRedirect(url, status=303)


class CheckoutSuccessView(LoginRequiredMixin, View):
    """Where Stripe sends the user back: sync now so access shows at once."""

    def get(self, request: AuthenticatedRequest) -> HttpResponse:
        session_id = request.GET.get("session_id", "")
        if not session_id.startswith("cs_"):
            messages.error(request, "That checkout link is incomplete.")
            return redirect(pages.url("pricing"))
        try:
            outcome = services.checkout_complete(user=request.user, session_id=session_id)
        except StripeObjectMissingError:
            messages.error(request, "That checkout link is not valid. Please pick a plan.")
            return redirect(pages.url("pricing"))
        except ApplicationError as exc:
            messages.warning(
                request,
                f"{exc.message} Your payment is safe; your plan appears as soon as "
                "Stripe confirms it.",
            )
            return redirect(pages.url("dashboard"))
        level, text, where = OUTCOME_MESSAGES[outcome.state]
        messages.add_message(request, level, text)
        return redirect(pages.url(where))


# What the member is told for each state of the Checkout Session they came back from,
# and which of billing's pages (see pages.PAGES) they land on.
OUTCOME_MESSAGES = {
    "open": (
        messages.WARNING,
        "Your checkout is not finished yet, so nothing has been charged. Pick a plan to continue.",
        "pricing",
    ),
    "expired": (
        messages.WARNING,
        "That checkout expired before it was finished; nothing was charged. "
        "Pick a plan to start again.",
        "pricing",
    ),
    "processing": (
        messages.INFO,
        "Thank you! Your payment is processing; your plan opens as soon as it clears.",
        "dashboard",
    ),
    "trialing": (messages.SUCCESS, "Welcome aboard! Your trial has started.", "dashboard"),
    "active": (
        messages.SUCCESS,
        "Welcome aboard! Your subscription is active.",
        "dashboard",
    ),
}


class PortalView(LoginRequiredMixin, View):
    """POST; answer with a 303 to Stripe's Customer Portal."""

    def post(self, request: AuthenticatedRequest) -> HttpResponse:
        try:
            url = services.portal_start(
                user=request.user,
                return_url=request.build_absolute_uri(pages.url("dashboard")),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(pages.url("pricing"))
        return HttpResponseRedirect(url, status=303)
