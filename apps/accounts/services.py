"""Writes on users and their sessions. Views, admin and commands call these."""

import secrets

from .models import User


def demo_admin_ensure(*, email: str, password: str | None) -> tuple[User, str | None]:
    """Make sure a local superuser exists.

    Returns the user and the password to show: the given one (always (re)set), a
    generated one for a new account, or None when an existing admin keeps theirs.
    """
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        password = password or secrets.token_urlsafe(12)
        user = User(email=email)
    elif password is None:
        return user, None
    user.set_password(password)
    user.is_staff = user.is_superuser = user.is_active = True
    user.save()
    return user, password
