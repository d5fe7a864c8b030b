"""The webhook profile's grouping: by where a function's code lives, a C function's
time split among its callers."""

from bench.webhook_profile import ROOT, group_of, grouped

SITE = "/work/.venv/lib/python3.11/site-packages"


def test_functions_are_grouped_by_where_their_code_lives():
    assert group_of(f"{SITE}/djstripe/models/core.py") == "dj-stripe"
    assert group_of(f"{SITE}/stripe/_api_requestor.py") == "Stripe re-fetch"
    assert group_of(f"{SITE}/requests/sessions.py") == "Stripe re-fetch"
    assert group_of("/usr/lib/python3.11/http/client.py") == "Stripe re-fetch"
    assert group_of(f"{SITE}/psycopg/cursor.py") == "Postgres"
    assert group_of(f"{SITE}/django_redis/client/default.py") == "Redis"
    assert group_of(f"{SITE}/django/db/models/query.py") == "Django"
    assert group_of(f"{ROOT}/apps/billing/webhooks.py") == "ours"
    assert group_of("/usr/lib/python3.11/json/decoder.py") == "other"
    assert group_of("~") is None


def test_a_c_function_s_time_goes_to_its_callers_in_proportion():
    ours = (f"{ROOT}/apps/billing/webhooks.py", 10, "handle")
    psycopg = (f"{SITE}/psycopg/cursor.py", 20, "execute")
    recv = ("~", 0, "<method 'recv_into'>")
    stats = {
        ours: (1, 1, 0.5, 2.0, {}),
        psycopg: (1, 1, 0.25, 1.0, {ours: (1, 1, 0.25, 1.0)}),
        recv: (4, 4, 1.0, 1.0, {ours: (1, 1, 0.25, 0.25), psycopg: (3, 3, 0.75, 0.75)}),
    }
    assert grouped(stats) == {"ours": 0.75, "Postgres": 1.0}
