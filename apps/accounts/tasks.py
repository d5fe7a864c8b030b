"""Bookkeeping the queue runs (procrastinate, autodiscovered from `tasks` modules).

"Last seen" is written from Redis's minute buckets to the sessions list here, once a
minute, by whichever queue worker takes the job, never by a web worker between two
requests (apps/accounts/last_seen.py).
"""

from procrastinate.contrib.django import app

from . import last_seen

QUEUE = "bookkeeping"
LAST_SEEN_FLUSH = "accounts.last_seen_flush"


@app.periodic(cron="* * * * *")
@app.task(name=LAST_SEEN_FLUSH, queue=QUEUE, queueing_lock=LAST_SEEN_FLUSH)
def last_seen_flush(timestamp: int) -> None:
    """Claim and write the finished minutes (one worker per minute: `flush` claims)."""
    last_seen.flush()
