import pytest
from django.urls import reverse

from apps.billing.access.resolver import access_for_user
from tests.billing import stripe_builders as build

pytestmark = pytest.mark.django_db


def test_payment_failed_webhook_revokes_access_on_next_request(
    client, user, subscribe, send_event, fake_stripe
):
    sub = subscribe("pro_monthly")
    assert access_for_user(user).has("reports")
    client.force_login(user)
    assert client.get(reverse("web:reports")).status_code == 200

    fake_stripe.update(sub["id"], status="past_due")
    failed = build.invoice(fake_stripe, subscription_id=sub["id"], status="open")
    response = send_event("invoice.payment_failed", failed)

    assert response.status_code == 200
    page = client.get(reverse("web:reports"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("web:pricing"))
