from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/bare", views.bare),
    path("bench/stock", views.stock),
    path("bench/gated", views.gated),
    path("bench/gated-miss", views.gated_miss),
    path("bench/gated-cold-thread", views.gated_cold_thread),
    path("bench/jwt", views.jwt_gate),
    path("", include("config.urls")),
]
