"""Reads on users. Views, admin and commands call these; services do the writes."""

from .models import User


def user_for_email(email: str) -> User | None:
    """The user with this email, whatever its case, or None."""
    return User.objects.filter(email=email.strip().lower()).first()
