"""Everything `make run` shows: demo accounts, plans, a paying member, and what to try."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.demo import demo_users_ensure


class Command(BaseCommand):
    # Lives in billing, the highest app it needs: accounts' demo users, billing's demo.
    help = "Load local demo data (demo_users, then demo_billing) and print what to try."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo_load is for local use (DEBUG=True); refusing to run.")
        self.stdout.write("Creating the demo accounts ...")
        admin, member = demo_users_ensure()
        call_command("demo_billing", force=True, stdout=self.stdout, stderr=self.stderr)
        site = settings.SITE_URL.rstrip("/")
        lines = [
            "",
            "Demo ready (local use only). Sign in with:",
            f"  {admin.credentials()}",
            f"  {member.credentials()}",
            "Try:",
            f"  {site}/                 home",
            f"  {site}/accounts/login/  sign in (as the member, then as the admin)",
            f"  {site}/reports/         a paid page: open, the member's Pro plan is active",
            f"  {site}/dashboard/       plan and status",
            f"  {site}/{settings.ADMIN_URL}           the admin (as the admin)",
        ]
        if settings.DEMO_STRIPE:
            lines += [
                "Then, in another terminal, let 'Stripe' stop and restart the payment and",
                "reload /reports/ after each (each posts a signed webhook to this server):",
                "  .venv/bin/python manage.py demo_subscription --status past_due",
                "  .venv/bin/python manage.py demo_subscription --status active",
            ]
        self.stdout.write("\n".join(lines))
