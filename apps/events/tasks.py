"""The queue's one task (procrastinate, autodiscovered from `tasks` modules).

A job is one delivery; procrastinate retries it when the attempt says so
(retry.Backoff), and `manage.py procrastinate worker` runs it (`make run` starts one).
"""

from procrastinate import JobContext
from procrastinate.contrib.django import app

from . import retry, services

QUEUE = "events"


@app.task(name="events.deliver", queue=QUEUE, pass_context=True, retry=retry.Backoff())
def deliver(context: JobContext, delivery_id: int) -> None:
    services.delivery_attempt(
        delivery_id=delivery_id, job_id=context.job.id if context.job else None
    )
