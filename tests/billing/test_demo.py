"""The demo's paying member, and `demo_subscription` flipping it by a signed webhook.

Stripe is the offline demo Stripe (apps/billing/demo_stripe.py) on a temporary state
file, exactly what a local run uses; the webhook goes through dj-stripe's real view.
"""

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
import stripe
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.services import demo_member_ensure
from apps.billing import demo
from apps.core.errors import ApplicationError

PRINTED = re.compile(r"^\s*(admin|member)\s+(\S+)\s+password: (\S+)$", re.MULTILINE)
REPORTS = "/reports/"


def sign_in(email: str, password: str) -> Client:
    browser = Client()
    response = browser.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302
    assert response.url == reverse(settings.LOGIN_REDIRECT_URL)
    return browser


@pytest.fixture
def member(db, demo_store):  # type: ignore[no-untyped-def]
    """The demo member, subscribed (demo catalog, endpoint and subscription loaded)."""
    from apps.billing import services

    user, password = demo_member_ensure(email="member@example.com", password=None)
    demo.catalog_load_demo()
    services.webhook_endpoint_ensure(base_url="http://testserver")
    demo.member_subscription_ensure(user=user)
    return user.email, password


@pytest.fixture
def test_client_poster(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Posts the webhook to the test client, running its after-commit work as a commit would."""

    def post(url: str, body: str, headers: dict[str, str]) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                urlsplit(url).path,
                body,
                content_type=headers["Content-Type"],
                headers={"Stripe-Signature": headers["Stripe-Signature"]},
            )
        return int(response.status_code)

    return post


def test_demo_member_is_granted_on_reports(member):
    browser = sign_in(*member)

    assert browser.get(REPORTS).status_code == 200


def test_demo_subscription_past_due_webhook_denies_on_the_next_request(member, test_client_poster):
    browser = sign_in(*member)
    assert browser.get(REPORTS).status_code == 200

    sent = demo.subscription_status_send(status="past_due", post=test_client_poster)

    assert (sent.previous, sent.status, sent.response_status) == ("active", "past_due", 200)
    denied = browser.get(REPORTS)
    assert denied.status_code == 302
    assert denied.url.startswith(reverse("web:pricing"))


def test_demo_subscription_flipped_back_to_active_grants_again(member, test_client_poster):
    browser = sign_in(*member)
    demo.subscription_status_send(status="past_due", post=test_client_poster)
    assert browser.get(REPORTS).status_code == 302

    demo.subscription_status_send(status="active", post=test_client_poster)

    assert browser.get(REPORTS).status_code == 200


def test_demo_webhook_is_signed_as_stripe_signs_it(member):
    posted: list[tuple[str, str, dict[str, str]]] = []

    demo.subscription_status_send(
        status="past_due", post=lambda *request: posted.append(request) or 200
    )

    ((url, body, headers),) = posted
    assert stripe.WebhookSignature.verify_header(
        body, headers["Stripe-Signature"], settings.STRIPE_WEBHOOK_SECRET, tolerance=300
    )
    assert url.startswith("http://testserver/stripe/webhook/")


def test_demo_subscription_send_before_demo_load_says_to_run_it(db, demo_store):
    with pytest.raises(ApplicationError, match="demo_load"):
        demo.subscription_status_send(status="past_due", post=lambda *request: 200)


def test_demo_subscription_command_names_an_unreachable_server(member, settings):
    settings.DEBUG = settings.DEMO_STRIPE = True

    with pytest.raises(CommandError, match=r"Could not reach http://127\.0\.0\.1:9/"):
        call_command(
            "demo_subscription",
            "--status=past_due",
            "--base-url=http://127.0.0.1:9",
            stdout=StringIO(),
        )


def test_demo_subscription_command_refuses_without_the_demo_stripe(settings):
    settings.DEBUG, settings.DEMO_STRIPE = True, False

    with pytest.raises(CommandError, match="DEMO_STRIPE"):
        call_command("demo_subscription", "--status=past_due", stdout=StringIO())


def test_demo_billing_without_the_demo_member_says_to_run_demo_users(db, demo_store, settings):
    settings.DEBUG = True

    with pytest.raises(CommandError, match="demo_users"):
        call_command("demo_billing", stdout=StringIO())


def test_demo_billing_run_again_makes_the_subscription_active_again(
    member, test_client_poster, django_capture_on_commit_callbacks
):
    browser = sign_in(*member)
    demo.subscription_status_send(status="past_due", post=test_client_poster)

    with django_capture_on_commit_callbacks(execute=True):
        demo.member_subscription_ensure(user=User.objects.get(email=member[0]))

    assert browser.get(REPORTS).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_demo_load_then_flip_commands_close_and_reopen_reports_on_the_live_server(
    demo_store, live_server, settings
):
    """The two-command promise: what `make run` prints works against a running server."""
    settings.DEBUG = settings.DEMO_STRIPE = True
    settings.SITE_URL = live_server.url
    out = StringIO()
    call_command("demo_load", stdout=out)
    printed = out.getvalue()
    credentials = {role: (email, pw) for role, email, pw in PRINTED.findall(printed)}
    assert f"{live_server.url}/reports/" in printed
    assert "manage.py demo_subscription --status past_due" in printed
    member = sign_in(*credentials["member"])
    assert member.get(REPORTS).status_code == 200

    flip = StringIO()
    call_command("demo_subscription", "--status", "past_due", stdout=flip)

    assert "The server answered 200" in flip.getvalue()
    assert member.get(REPORTS).status_code == 302
    call_command("demo_subscription", "--status", "active", stdout=StringIO())
    assert member.get(REPORTS).status_code == 200
