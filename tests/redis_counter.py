"""Counting Redis round trips, for tests and benchmarks: one per command sent on its own,
one per pipeline execute(), and one per MGET or SET (with its read-back) the near cache
sends (apps/core/near_cache.py)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.client import Pipeline, Redis

from apps.core.near_cache import NearCache


@contextmanager
def count_round_trips() -> Iterator[list[str]]:
    """Yields a list that fills with the command names (PIPELINE for a pipeline)."""
    sent: list[str] = []
    single, batch, near, near_set = (
        Redis.execute_command,
        Pipeline.execute,
        NearCache._fetch,
        NearCache.set,
    )

    def execute_command(self: Redis, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(self, Pipeline):
            sent.append(str(args[0]))
        return single(self, *args, **kwargs)

    def execute(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        sent.append("PIPELINE")
        return batch(self, *args, **kwargs)

    def fetch(self: NearCache, *args: Any, **kwargs: Any) -> Any:
        sent.append("MGET")
        return near(self, *args, **kwargs)

    def set_and_read_back(self: NearCache, *args: Any, **kwargs: Any) -> Any:
        if not self.unsupported:
            sent.append("SET")
        return near_set(self, *args, **kwargs)

    Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]
    NearCache._fetch = fetch  # type: ignore[method-assign]
    NearCache.set = set_and_read_back  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        Redis.execute_command = single  # type: ignore[method-assign]
        Pipeline.execute = batch  # type: ignore[method-assign]
        NearCache._fetch = near  # type: ignore[method-assign]
        NearCache.set = near_set  # type: ignore[method-assign]
