from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("checkout/", views.CheckoutStartView.as_view(), name="checkout"),
    path("checkout/success/", views.CheckoutSuccessView.as_view(), name="checkout_success"),
    path("portal/", views.PortalView.as_view(), name="portal"),
]
