"""Signals accounts sends for the layers above it (they import accounts; never back).

`session_ended` is sent when a signed-in session's key stops working on the server:
sign-out, "sign out other devices", an admin ending sessions, a deactivated user, an
idle or too old session the server noticed, and a key rotation (a password change or
sign-in rotates the key, so a copied cookie stops working). It is sent in the
transaction that deleted the session's row. It carries the session's digest, never
its key: whoever receives it learns nothing that signs in.
"""

import hashlib

from django.dispatch import Signal

# kwargs: user_id (int), session_id (str, session_digest), rotated (bool)
session_ended = Signal()


def session_digest(session_key: str) -> str:
    """The hex BLAKE2b-128 of a session key: the name apps/core/state/ keeps it under.

    A service on the same domain that sees the session cookie can compute it too.
    """
    return hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()
