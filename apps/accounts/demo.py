"""The local demo's accounts: an admin and a member, verified so they sign in at once."""

from dataclasses import dataclass

from django.conf import settings

from . import services
from .models import User


@dataclass(frozen=True)
class DemoUser:
    """A demo account and the password to print (None: kept from an earlier run)."""

    role: str
    user: User
    password: str | None

    def credentials(self) -> str:
        password = self.password or (
            "(unchanged since it was printed at creation; "
            f"`manage.py changepassword {self.user.email}` sets a new one)"
        )
        return f"{self.role:<7} {self.user.email}  password: {password}"


def demo_users_ensure() -> tuple[DemoUser, DemoUser]:
    """The demo admin (DEMO_ADMIN_*) and member (DEMO_MEMBER_*); created if missing."""
    admin, admin_password = services.demo_admin_ensure(
        email=settings.DEMO_ADMIN_EMAIL, password=settings.DEMO_ADMIN_PASSWORD or None
    )
    member, member_password = services.demo_member_ensure(
        email=settings.DEMO_MEMBER_EMAIL, password=settings.DEMO_MEMBER_PASSWORD or None
    )
    return DemoUser("admin", admin, admin_password), DemoUser("member", member, member_password)
