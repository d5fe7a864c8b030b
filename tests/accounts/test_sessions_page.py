"""/accounts/sessions/: each device by name, the current one marked, a sign-out per row."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from tests.accounts import user_agents as ua

pytestmark = pytest.mark.django_db

ROW = re.compile(r"<tr>\s*<th scope=\"row\".*?</tr>", re.DOTALL)


def signed_in_device(user_agent: str, *, email: str, password: str) -> Client:
    device = Client(headers={"user-agent": user_agent})
    response = device.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content
    return device


def test_sessions_page_names_each_device_and_never_shows_raw_user_agents(user, password):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    laptop = signed_in_device(ua.CHROME_LINUX, email=user.email, password=password)
    signed_in_device(ua.SAFARI_IPHONE, email=user.email, password=password)
    signed_in_device("LaptopBrowser/1.0", email=user.email, password=password)

    html = laptop.get(reverse("usersessions_list")).content.decode()

    rows = ROW.findall(html)
    assert len(rows) == 3
    current = [row for row in rows if "Current" in row]
    assert len(current) == 1
    assert "Chrome on Linux, 127.0.0.1" in current[0]
    assert "Sign out here" in current[0]
    assert sum("Safari on iOS, 127.0.0.1" in row for row in rows) == 1
    assert sum("Unknown browser, 127.0.0.1" in row for row in rows) == 1
    for raw in (ua.CHROME_LINUX, ua.SAFARI_IPHONE, "LaptopBrowser/1.0", "Mozilla/5.0"):
        assert raw not in html
