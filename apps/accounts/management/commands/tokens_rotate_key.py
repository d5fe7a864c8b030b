"""`manage.py tokens_rotate_key [--immediately]`: the next key that signs tokens."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.tokens import conf, keys


class Command(BaseCommand):
    help = (
        "Create the next token signing key. It is published at once and signs after "
        "the JWKS cache time (or at once with --immediately); the previous key stays "
        "published until the last access token it signed expires. Keys that verify "
        "nothing any more are deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--immediately",
            action="store_true",
            help="Sign with the new key now (relying parties with a cached JWKS refetch it).",
        )

    def handle(self, *args: Any, immediately: bool, **options: Any) -> None:
        key, deleted = keys.key_rotate(immediately=immediately)
        when = "now" if immediately else f"in {conf.publish_ahead()} s"
        self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) signs {when}.")
        if deleted:
            self.stdout.write(f"Deleted {deleted} key(s) that no unexpired token uses.")
