"""Load what a local run needs to be explored: an admin account and a plan catalog."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.services import demo_admin_ensure
from apps.billing.demo import catalog_load_demo


class Command(BaseCommand):
    help = "Load local demo data: a superuser (DEMO_ADMIN_EMAIL/PASSWORD or printed), demo plans."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo_load is for local use (DEBUG=True); refusing to run.")
        self._load_admin()
        self.stdout.write("Loading the demo plan catalog ...")
        count = catalog_load_demo(progress=lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(self.style.SUCCESS(f"Demo catalog ready ({count} objects)."))

    def _load_admin(self) -> None:
        user, password = demo_admin_ensure(
            email=settings.DEMO_ADMIN_EMAIL, password=settings.DEMO_ADMIN_PASSWORD or None
        )
        self.stdout.write(self.style.SUCCESS("Demo admin (local use only):"))
        self.stdout.write(f"  email:    {user.email}")
        self.stdout.write(
            f"  password: {password}"
            if password
            else "  password: unchanged since it was printed at creation "
            f"(`manage.py changepassword {user.email}` sets a new one)"
        )
        self.stdout.write(f"  admin:    http://127.0.0.1:{settings.PORT}/{settings.ADMIN_URL}")
