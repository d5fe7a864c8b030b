"""The soak's record of each member's plan flips, and what it judges by it: whether a
granted page was stale, and how long each revocation took to reach the member.

Plain data and arithmetic (no Django, no HTTP), so tests/bench/ can check it directly.
"""

import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Flip:
    started: float  # before the fake API changed: from here a grant may already show
    granted: bool
    answered: float | None = None  # when the webhook's 200 came back
    first_denied: float | None = None  # a revocation: when its member's first denial came back


@dataclass
class Timeline:
    """Per member, every flip in order; a flip is recorded before it begins."""

    flips: dict[int, list[Flip]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, member: int, *, granted: bool, now: float) -> Flip:
        flip = Flip(started=now, granted=granted)
        with self.lock:
            self.flips[member].append(flip)
        return flip

    def answered(self, flip: Flip, *, now: float) -> None:
        with self.lock:
            flip.answered = now

    def must_deny(self, member: int, sent: float, received: float) -> bool:
        """True if the request was sent after a revocation had been answered, and its
        answer came back before any later grant began (so no grant can explain a 200)."""
        state = None
        with self.lock:
            flips = list(self.flips[member])
        for flip in flips:
            if flip.granted and flip.started <= received:
                state = "granted-or-pending"
            elif not flip.granted and flip.answered is not None and flip.answered <= sent:
                state = "revoked"
        return state == "revoked"

    def denied(self, member: int, received: float) -> None:
        """A denial came back at `received`: the first after a revocation's 200 (with no
        grant begun since) dates that revocation's arrival."""
        with self.lock:
            flips = self.flips[member]
            last = flips[-1] if flips else None
            if (
                last is not None
                and not last.granted
                and last.answered is not None
                and last.answered <= received
                and last.first_denied is None
            ):
                last.first_denied = received

    def revocation_latencies(self) -> tuple[list[float], int]:
        """Seconds from each revoking webhook's 200 to its member's first denial, and
        how many revocations no denial was seen for (the member not asked in time)."""
        latencies, unobserved = [], 0
        with self.lock:
            revocations = [
                flip
                for flips in self.flips.values()
                for flip in flips
                if not flip.granted and flip.answered is not None
            ]
        for flip in revocations:
            if flip.first_denied is None or flip.answered is None:
                unobserved += 1
            else:
                latencies.append(flip.first_denied - flip.answered)
        return latencies, unobserved


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of them at or below."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary_ms(seconds: list[float]) -> dict[str, float | int | None]:
    """p50, p99 and max in milliseconds (rounded to µs), and the count."""
    if not seconds:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3),
    }
