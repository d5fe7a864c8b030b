from django.apps import AppConfig


class ServicesConfig(AppConfig):
    """Other services: their credentials, token introspection and revocation."""

    name = "apps.services"
    label = "services"
    verbose_name = "Other services"

    def ready(self) -> None:
        from . import access_tokens, receivers, session_tokens

        receivers.connect()
        session_tokens.register()
        access_tokens.register()
