"""End-user pages. Each view reads one selector and renders; gating is declared."""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from apps.billing import selectors as billing
from apps.billing.access.gating import AccessRequiredMixin


class HomeView(TemplateView):
    template_name = "web/home.html"


class PricingView(TemplateView):
    """Plan cards from the synced catalog (Postgres only), monthly or yearly."""

    template_name = "web/pricing.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        interval = "year" if self.request.GET.get("interval") == "year" else "month"
        access = self.request.access  # type: ignore[attr-defined]
        cards = [
            {
                "plan": plan,
                "price": plan.prices.get(interval),
                "current": plan.is_current(access.plan),
            }
            for plan in billing.plans_for_pricing()
        ]
        return super().get_context_data(cards=cards, interval=interval, access=access, **kwargs)


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "web/dashboard.html"


class ReportsView(AccessRequiredMixin, TemplateView):
    """Paid area: needs the `reports` feature (Pro and Team)."""

    template_name = "web/reports.html"
    required_feature = "reports"


class TeamSpaceView(AccessRequiredMixin, TemplateView):
    """Paid area: needs the `team_space` feature (Team only)."""

    template_name = "web/team_space.html"
    required_feature = "team_space"
