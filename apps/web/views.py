"""End-user pages. Each view reads selectors and renders; gating is declared."""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils import timezone
from django.views.generic import TemplateView

from apps.billing import selectors as billing
from apps.billing.access.gating import AccessRequiredMixin
from apps.billing.access.requests import AccessRequest, MemberRequest
from apps.billing.access.rules import SUBSCRIBED_STATUSES
from apps.core import db_router

from . import selectors


class HomeView(TemplateView):
    template_name = "web/home.html"


class PricingView(TemplateView):
    """Plan cards from the synced catalog (Postgres only), monthly or yearly."""

    template_name = "web/pricing.html"
    request: AccessRequest

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        interval = "year" if self.request.GET.get("interval") == "year" else "month"
        access = self.request.access
        signed_in = self.request.user.is_authenticated
        cards = [
            {
                "plan": plan,
                "price": plan.prices.get(interval),
                "current": signed_in and plan.is_current(access.plan),
            }
            # The catalog may come from a standby (docs/architecture.md, "Reads and a
            # Postgres standby"); the Access above never does.
            for plan in db_router.standby_read(lambda db: billing.plans_for_pricing(using=db))
        ]
        return super().get_context_data(
            cards=cards,
            interval=interval,
            access=access,
            # A subscription the member still holds changes plan in the Portal; an
            # expired or canceled one (or none) gets a new Checkout.
            subscribed=access.status in SUBSCRIBED_STATUSES,
            **kwargs,
        )


class DashboardView(LoginRequiredMixin, TemplateView):
    """The member's plan, its state and what it includes."""

    template_name = "web/dashboard.html"
    request: MemberRequest

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        access = self.request.access
        return super().get_context_data(
            access=access,
            plan_name=selectors.plan_name(access, self.request.subscription),
            features=billing.feature_names(access.features),
            trial_days_left=selectors.trial_days_left(access, now=timezone.now()),
            **kwargs,
        )


class BillingView(LoginRequiredMixin, TemplateView):
    """Account > Billing: plan, status, next invoice, past invoices, the Portal."""

    template_name = "web/billing.html"
    request: MemberRequest

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        access = self.request.access
        return super().get_context_data(
            access=access,
            plan_name=selectors.plan_name(access, self.request.subscription),
            next_invoice=selectors.next_invoice(self.request.subscription, access),
            invoices=selectors.invoice_rows(user),
            has_customer=billing.customer_for_user(user) is not None,
            **kwargs,
        )


class ReportsView(AccessRequiredMixin, TemplateView):
    """Paid area: needs the `reports` feature (Pro and Team)."""

    template_name = "web/reports.html"
    required_feature = "reports"


class TeamSpaceView(AccessRequiredMixin, TemplateView):
    """Paid area: needs the `team_space` feature (Team only)."""

    template_name = "web/team_space.html"
    required_feature = "team_space"
