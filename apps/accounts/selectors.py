"""Reads on users. Views, admin and commands call these; services do the writes."""

from allauth.account.models import EmailAddress

from .models import User


def user_for_email(email: str) -> User | None:
    """The user with this email, whatever its case, or None."""
    return User.objects.filter(email=email.strip().lower()).first()


def email_in_use(*, email: str) -> bool:
    """Whether any account has this address, as its login or as an added address."""
    return (
        User.objects.filter(email=email.strip().lower()).exists()
        or EmailAddress.objects.filter(email__iexact=email.strip()).exists()
    )
