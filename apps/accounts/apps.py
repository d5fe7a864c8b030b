from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, sign-in (allauth) and sessions."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.core import state

        from . import identity, receivers
        from .tokens import checks  # noqa: F401 - checks register themselves

        receivers.connect()
        state.register(identity.SLOT)
