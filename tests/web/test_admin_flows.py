"""What staff click through in the Django admin, in headless Chromium against the live
server. The admin signs in through allauth (rate-limited, MFA-aware), so staff need a
verified email like everyone else."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
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


def test_a_new_services_secret_is_shown_once_in_the_admin_and_never_again(new_visitor, screenshot):
    from apps.services import credentials
    from apps.services.models import Service

    verified_user(ADMIN, is_staff=True, is_superuser=True)
    admin = new_visitor(user_agent="AdminBrowser/1.0")
    sign_in(admin, ADMIN, path=f"/{settings.ADMIN_URL}")
    admin.goto(f"/{settings.ADMIN_URL}services/service/add/")
    admin.get_by_label("Name").fill("Forum")
    admin.get_by_label("May revoke").check()
    admin.get_by_role("button", name="Save", exact=True).click()

    expect(admin.get_by_role("heading", name="Service created")).to_be_visible()
    row = admin.get_by_role("row", name=re.compile("Forum"))
    secret = row.locator("code").filter(has_text=re.compile(r"^tgs_")).inner_text()
    client_id = row.locator("code").filter(has_text=re.compile(r"^svc_")).inner_text()
    screenshot(admin, "flow-admin-service-secret-once")
    assert credentials.authenticate(client_id, secret) is not None  # the real secret
    service = Service.objects.get(client_id=client_id)

    admin.reload()  # Chromium loads the add form again: no second service, no secret
    expect(admin.get_by_role("heading", name="Service created")).to_have_count(0)
    expect(admin.locator("html")).not_to_contain_text(secret)
    assert Service.objects.count() == 1

    # Every page that shows the service afterwards shows no secret at all.
    for path in (
        f"/{settings.ADMIN_URL}services/service/",
        f"/{settings.ADMIN_URL}services/service/{service.pk}/change/",
    ):
        admin.goto(path)
        expect(admin.get_by_text(client_id).first).to_be_visible()
        assert secret not in admin.content()
        assert "tgs_" not in admin.content()
    admin.go_back()  # from the change page to the list
    # Back to the page that showed it: the browser kept no copy (no-store), so it asks
    # to send the form again instead of showing the secret.
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        admin.go_back()
    admin.wait_for_load_state()  # Chromium's own error page
    expect(admin.locator("html")).not_to_contain_text(secret)
    assert Service.objects.count() == 1
