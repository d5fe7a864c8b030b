"""`manage.py tokens_rotate_key [--immediately | --revoke=KID]`: the next key that signs
tokens, or a compromised one retired at once. `--revoke=KID` with the `=`: a kid is a
base64url thumbprint, and one in 64 starts with "-", which argparse would read as an
option after a separate `--revoke`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.tokens import conf, keys


class Command(BaseCommand):
    help = (
        "Create the next token signing key. It is published at once and signs after "
        "the JWKS cache time (or at once with --immediately); the previous key stays "
        "published until the last access token it signed expires. Keys that verify "
        "nothing any more are deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--immediately",
            action="store_true",
            help="Sign with the new key now (relying parties with a cached JWKS refetch it).",
        )
        which.add_argument(
            "--revoke",
            metavar="KID",
            help=(
                "Retire a compromised key now: unpublished, and every token it signed is "
                "refused from the next request on (a new key signs if it was signing). "
                "Write it as --revoke=KID: a kid may start with '-'."
            ),
        )

    def handle(self, *args: Any, immediately: bool, revoke: str | None, **options: Any) -> None:
        if revoke is not None:
            self._revoke(revoke)
            return
        key, deleted = keys.key_rotate(immediately=immediately)
        when = "now" if immediately else f"in {conf.publish_ahead()} s"
        self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) signs {when}.")
        if deleted:
            self.stdout.write(f"Deleted {deleted} key(s) that no unexpired token uses.")

    def _revoke(self, kid: str) -> None:
        try:
            fresh = keys.key_revoke(kid)
        except keys.KeyNotFoundError:
            raise CommandError(f"There is no signing key {kid!r}.") from None
        self.stdout.write(
            f"Revoked signing key {kid}: it is no longer published, and every token it "
            "signed is refused from the next request on."
        )
        if fresh is not None:
            self.stdout.write(f"New signing key {fresh.kid} ({fresh.algorithm}) signs now.")
