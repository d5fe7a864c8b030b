from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Signed events for other services: access.changed, session.ended."""

    name = "apps.events"
    label = "events"
    verbose_name = "Events for other services"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401 - checks register themselves

        receivers.connect()
