from django.urls import path

from . import views

app_name = "services"

urlpatterns = [
    path("introspect", views.token_introspect, name="introspect"),
    path("revoke", views.token_revoke, name="revoke"),
]
