"""Create the first admin in production: a superuser who can sign in before SMTP works."""

import getpass
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import selectors, services
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a superuser with a verified email, so they can sign in to the admin at once "
        "(allauth's mandatory verification would otherwise need an email first). Idempotent."
    )
    # Tests (and scripts) hand the password in on stdin; it never goes in argv.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The admin's email address.")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of stdin instead of prompting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        stdin = options.get("stdin") or sys.stdin
        exists = selectors.user_for_email(email) is not None
        password = None
        if options["password_stdin"]:
            password = stdin.readline().rstrip("\r\n")
        elif not exists:
            password = self._prompt(stdin)
        try:
            result = services.admin_ensure(email=email, password=password)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        admin_url = f"{settings.SITE_URL.rstrip('/')}/{settings.ADMIN_URL}"
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(f"Created admin {email} (superuser, email verified).")
            )
        elif result.changes:
            self.stdout.write(
                self.style.SUCCESS(f"{email} already existed: " + ", ".join(result.changes) + ".")
            )
        else:
            self.stdout.write(
                f"{email} is already an admin with a verified email; nothing changed."
            )
        if not result.created:
            self.stdout.write(
                f"Its password is unchanged (`manage.py changepassword {email}` sets a new one)."
            )
        self.stdout.write(f"Sign in at {admin_url}")

    def _prompt(self, stdin: Any) -> str:
        if not stdin.isatty():
            raise CommandError("No terminal to ask for the password: pass --password-stdin.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords did not match; nothing was created.")
        return password
