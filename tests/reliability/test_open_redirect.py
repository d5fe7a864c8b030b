"""`next=` (or a forged host) pointing at another site is ignored everywhere we redirect:
after login, on the gating redirect, and in the URLs Stripe sends the user back to."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.reliability.conftest import who

pytestmark = pytest.mark.django_db

EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "https:evil.example",
    "http://testserver@evil.example/",
]


def assert_local(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme == "", url
    assert parts.netloc == "", url
    assert url.startswith("/"), url
    assert not url.startswith(("//", "/\\")), url


@pytest.mark.parametrize("target", EVIL)
def test_login_ignores_a_next_on_another_host(client, member, password, target):
    response = client.post(
        f"{reverse('account_login')}?next={target}",
        {"login": member.email, "password": password, "next": target},
    )

    assert response.status_code == 302
    assert_local(response["Location"])
    assert who(client.get(reverse("web:home"))) == member


@pytest.mark.parametrize("target", EVIL)
def test_gating_redirect_to_pricing_carries_only_a_local_next(client, user, catalog, target):
    client.force_login(user)  # a free member: the paid area is denied

    response = client.get(reverse("web:reports"), {"next": target})

    assert response.status_code == 302
    location = response["Location"]
    assert_local(location)
    assert urlsplit(location).path == reverse("web:pricing")
    [next_url] = parse_qs(urlsplit(location).query)["next"]
    assert_local(next_url)
    assert urlsplit(next_url).path == reverse("web:reports")


def test_anonymous_gating_redirect_to_login_carries_only_a_local_next(client):
    response = client.get(reverse("web:reports"), {"next": "https://evil.example/"})

    assert response.status_code == 302
    [next_url] = parse_qs(urlsplit(response["Location"]).query)["next"]
    assert_local(next_url)


def return_urls(fake_stripe) -> list[str]:  # type: ignore[no-untyped-def]
    urls = []
    for call in fake_stripe.calls:
        for field in ("success_url", "cancel_url", "return_url"):
            if field in call.form:
                urls.append(call.form[field])
    return urls


def test_stripe_return_urls_stay_on_our_host_whatever_the_request_says(
    client, user, catalog, subscribe, fake_stripe
):
    client.force_login(user)
    forged = {"X-Forwarded-Host": "evil.example", "Referer": "https://evil.example/"}

    checkout = client.post(
        f"{reverse('billing:checkout')}?next=https://evil.example/",
        {"price_id": catalog["team_monthly"], "next": "https://evil.example/"},
        headers=forged,
    )
    subscribe("pro_monthly")  # a customer with a subscription can open the portal
    portal = client.post(
        f"{reverse('billing:portal')}?next=https://evil.example/",
        {"next": "https://evil.example/"},
        headers=forged,
    )

    assert (checkout.status_code, portal.status_code) == (303, 303)
    urls = return_urls(fake_stripe)
    assert len(urls) == 3
    for url in urls:
        assert urlsplit(url).netloc == "testserver", url


def test_a_forged_host_header_is_refused_before_anything_reaches_stripe(
    client, user, catalog, fake_stripe
):
    client.force_login(user)
    calls = len(fake_stripe.calls)

    response = client.post(
        reverse("billing:checkout"),
        {"price_id": catalog["pro_monthly"]},
        headers={"Host": "evil.example"},
    )

    assert response.status_code == 400
    assert len(fake_stripe.calls) == calls


def test_checkout_success_lands_on_our_dashboard_whatever_next_says(client, user):
    client.force_login(user)

    response = client.get(
        reverse("billing:checkout_success"), {"session_id": "", "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert_local(response["Location"])
