from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("pricing/", views.PricingView.as_view(), name="pricing"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("account/billing/", views.BillingView.as_view(), name="billing"),
    path("reports/", views.ReportsView.as_view(), name="reports"),
    path("team/", views.TeamSpaceView.as_view(), name="team_space"),
]
