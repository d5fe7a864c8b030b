"""Reads about accounts."""

from allauth.account.models import EmailAddress

from .models import User


def email_in_use(*, email: str) -> bool:
    """Whether any account has this address, as its login or as an added address."""
    return (
        User.objects.filter(email=email.strip().lower()).exists()
        or EmailAddress.objects.filter(email__iexact=email.strip()).exists()
    )
