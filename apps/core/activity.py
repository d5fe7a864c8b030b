"""Which requests are a person's activity: the ones that keep a session from going idle.

Reads that any client makes on a timer (another service asking `/api/session`, a
health probe, a HEAD) are not: a tab left open must not keep a session alive forever.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest

View = TypeVar("View", bound=Callable[..., Any])

# Requests a person does not make by using a page.
_PASSIVE_METHODS = frozenset({"HEAD", "OPTIONS"})


def not_activity(view: View) -> View:
    """Marks a view whose requests do not refresh the session's idle timer."""
    view.counts_as_activity = False  # type: ignore[attr-defined]
    return view


def counts_as_activity(request: HttpRequest, view: Callable[..., Any]) -> bool:
    """True when this request, about to run `view`, shows the person is still there."""
    return request.method not in _PASSIVE_METHODS and getattr(view, "counts_as_activity", True)
