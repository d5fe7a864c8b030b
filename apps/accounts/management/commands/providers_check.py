"""List the configured sign-in providers with their callback URLs, and check each one."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import provider_checks


class Command(BaseCommand):
    help = (
        "List configured sign-in providers with the callback URL to register with each, "
        "and check their configuration (an OpenID Connect issuer's discovery document too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url", default=settings.SITE_URL, help="Public base URL (default: SITE_URL)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        apps = provider_checks.provider_apps()
        if not apps:
            self.stdout.write(
                "No sign-in providers are configured (set GOOGLE_CLIENT_ID, GITHUB_CLIENT_ID, "
                "DISCORD_CLIENT_ID, MICROSOFT_CLIENT_ID or OIDC_PROVIDERS)."
            )
            return
        self.stdout.write(f"Checking {len(apps)} sign-in provider(s):")
        failed = 0
        for app in apps:
            self.stdout.write(f"  {app.name or app.provider_id or app.provider} ... ", ending="")
            self.stdout.flush()
            report = provider_checks.provider_report(app=app, site_url=options["base_url"])
            if report.ok:
                self.stdout.write(self.style.SUCCESS("ok"))
            else:
                failed += 1
                self.stdout.write(self.style.ERROR("FAILED"))
            self.stdout.write(f"    callback URL to register: {report.callback_url}")
            for problem in report.problems:
                self.stdout.write(self.style.ERROR(f"    - {problem}"))
        if failed:
            raise CommandError(f"{failed} of {len(apps)} provider(s) misconfigured (see above).")
        self.stdout.write(self.style.SUCCESS("All providers are configured."))
