import json
import pickle

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from apps.core.near_cache import near_cache
from tests.state_helpers import generation, session_copy_key

pytestmark = pytest.mark.django_db


def test_login_stores_the_session_in_redis(client, user, password, redis):
    assert client.login(username=user.email, password=password)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    redis_key = session_copy_key(session_key)
    assert redis.exists(redis_key)


def test_sessions_are_stored_in_redis_as_json_never_pickled(client, user, password, redis):
    assert client.login(username=user.email, password=password)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    raw = redis.get(session_copy_key(session_key))
    copy = json.loads(raw)
    assert copy["s"][SESSION_KEY] == str(user.pk)
    assert copy["g"] == generation(user.pk)  # read only under this generation


def test_a_session_redis_holds_in_another_format_is_read_from_postgres(
    client, user, password, redis
):
    """E.g. pickled by the serializer before this one: the member stays signed in."""
    assert client.login(username=user.email, password=password)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    redis_key = session_copy_key(session_key)
    redis.set(redis_key, pickle.dumps({SESSION_KEY: "0"}))
    near_cache().fence()

    response = client.get(reverse("web:home"))

    assert response.wsgi_request.user == user
    assert json.loads(redis.get(redis_key))["s"][SESSION_KEY] == str(user.pk)  # rewritten


def test_session_survives_a_redis_flush(client, user, password, redis):
    """cached_db keeps a durable copy in Postgres, so a Redis restart signs nobody out."""
    client.login(username=user.email, password=password)
    redis.flushdb()
    near_cache().fence()
    response = client.get(reverse("web:home"))
    assert response.wsgi_request.user == user
