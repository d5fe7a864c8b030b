"""What staff click through in the Django admin, in headless Chromium against the live
server. The admin signs in through allauth (rate-limited, MFA-aware), so staff need a
verified email like everyone else."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from .browser_steps import expect_signed_out, sign_in, sign_in_member, verified_user

pytestmark = pytest.mark.django_db(transaction=True)

MEMBER = "linus@example.com"
ADMIN = "root@example.com"


def test_admin_end_all_sessions_signs_the_members_devices_out_on_their_next_load(
    new_visitor, screenshot
):
    member = verified_user(MEMBER)
    verified_user(ADMIN, is_staff=True, is_superuser=True)
    laptop = new_visitor(user_agent="LaptopBrowser/1.0")
    phone = new_visitor(user_agent="PhoneBrowser/2.0", width=390, height=844)
    for device in (laptop, phone):
        sign_in_member(device, MEMBER)
        device.goto("/dashboard/")
        expect(device).to_have_url(re.compile(r"/dashboard/$"))

    admin = new_visitor(user_agent="AdminBrowser/1.0")
    sign_in(admin, ADMIN, path=f"/{settings.ADMIN_URL}")  # the admin's login is allauth's
    expect(admin.get_by_role("heading", name="Site administration")).to_be_visible()
    admin.get_by_role("link", name="Users").first.click()
    admin.get_by_role("link", name=MEMBER).click()
    expect(admin).to_have_url(re.compile(rf"/{settings.ADMIN_URL}accounts/user/{member.pk}/"))
    sessions = admin.locator(".inline-group", has_text="Active sessions")
    expect(sessions.get_by_text("LaptopBrowser/1.0", exact=True)).to_be_visible()
    expect(sessions.get_by_text("PhoneBrowser/2.0", exact=True)).to_be_visible()

    admin.get_by_role("button", name="End all sessions").click()
    expect(admin.locator(".messagelist")).to_contain_text(f"Ended 2 session(s) of {member}")
    expect(sessions.get_by_text("LaptopBrowser/1.0", exact=True)).to_have_count(0)
    screenshot(admin, "flow-admin-ended-sessions")

    for device in (laptop, phone):
        device.goto("/dashboard/")
        expect_signed_out(device)
    screenshot(phone, "flow-admin-ended-sessions-phone")
    admin.reload()  # the admin's own session is untouched
    expect(admin.get_by_role("button", name="End all sessions")).to_be_visible()
