"""Create the local demo's admin and member (verified) and print their credentials."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.demo import demo_users_ensure


class Command(BaseCommand):
    help = "Local demo accounts: an admin (DEMO_ADMIN_*) and a member (DEMO_MEMBER_*)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo_users is for local use (DEBUG=True); refusing to run.")
        self.stdout.write("Creating the demo accounts ...")
        for demo_user in demo_users_ensure():
            self.stdout.write(f"  {demo_user.credentials()}")
        self.stdout.write(self.style.SUCCESS("Demo accounts ready (local use only)."))
