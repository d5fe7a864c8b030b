from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, sign-in (allauth) and sessions."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
