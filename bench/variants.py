"""What the benchmark compares: one page per way of deciding access, and its server.

Its own module so that the runner (run.py) and the counts it reports (counts.py) both
read it without importing each other.
"""

from dataclasses import dataclass

SESSION_COOKIE = "__Host-sessionid"
TOLLGATE_PORT, STOCK_PORT = 8101, 8102


@dataclass(frozen=True)
class Variant:
    name: str
    port: int
    path: str
    cookie: str  # "session", "jwt" or ""


VARIANTS = [
    Variant("bare", TOLLGATE_PORT, "/bench/bare", ""),
    Variant("stock_session", STOCK_PORT, "/bench/stock", "session"),
    Variant("tollgate_hit", TOLLGATE_PORT, "/bench/gated", "session"),
    Variant("tollgate_cold_thread", TOLLGATE_PORT, "/bench/gated-cold-thread", "session"),
    Variant("tollgate_miss", TOLLGATE_PORT, "/bench/gated-miss", "session"),
    Variant("jwt", TOLLGATE_PORT, "/bench/jwt", "jwt"),
]
