"""Devices named as people say them, from the user agent a session signed in with."""

import pytest
from django.template import Context, Template

from apps.accounts.devices import device_description
from tests.accounts import user_agents as ua


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (ua.CHROME_LINUX, "Chrome on Linux"),
        (ua.SAFARI_IPHONE, "Safari on iOS"),
        (ua.SAFARI_MAC, "Safari on macOS"),
        (ua.FIREFOX_WINDOWS, "Firefox on Windows"),
        (ua.CHROME_ANDROID, "Chrome on Android"),
        (ua.EDGE_WINDOWS, "Edge on Windows"),
    ],
)
def test_device_description_names_browser_and_system(user_agent, expected):
    assert device_description(user_agent=user_agent) == expected


def test_device_description_appends_the_ip_address():
    assert device_description(user_agent=ua.CHROME_LINUX, ip="127.0.0.1") == (
        "Chrome on Linux, 127.0.0.1"
    )


@pytest.mark.parametrize("user_agent", ["", "LaptopBrowser/1.0", "\x00??"])
def test_device_description_falls_back_to_unknown_browser(user_agent):
    assert device_description(user_agent=user_agent, ip="::1") == "Unknown browser, ::1"


def test_device_description_keeps_a_known_system_of_an_unknown_browser():
    assert device_description(user_agent="Mozilla/5.0 (X11; Linux x86_64)") == (
        "Unknown browser on Linux"
    )


def test_device_description_names_a_tool_that_is_no_browser_by_its_own_name():
    assert device_description(user_agent="curl/8.5.0") == "curl"


def test_device_filter_describes_a_user_session():
    class FakeSession:
        user_agent = ua.FIREFOX_WINDOWS
        ip = "203.0.113.9"

    rendered = Template("{% load devices %}{{ session|device }}").render(
        Context({"session": FakeSession()})
    )

    assert rendered == "Firefox on Windows, 203.0.113.9"
