"""Shared fixtures. Postgres and Redis are real; Redis db 15 is flushed around each test."""

from collections.abc import Iterator

import pytest
from django_redis import get_redis_connection

from tests.accounts.factories import UserFactory


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    redis = get_redis_connection("default")
    redis.flushdb()
    yield
    redis.flushdb()


@pytest.fixture
def redis():  # type: ignore[no-untyped-def]
    """The raw redis-py client on the test database."""
    return get_redis_connection("default")


@pytest.fixture
def password() -> str:
    return "correct horse battery staple"


@pytest.fixture
def user(db, password):  # type: ignore[no-untyped-def]
    return UserFactory(password=password)
