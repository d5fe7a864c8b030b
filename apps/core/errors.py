"""The one error family services raise; views turn it into a message or a 4xx page."""


class ApplicationError(Exception):
    """A failure the user can act on. `message` is safe to show them."""

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
