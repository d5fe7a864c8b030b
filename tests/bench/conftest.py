"""The bench helpers' tests are arithmetic on plain data: no Redis to flush."""

import pytest


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    return None
