"""The queue's tasks (procrastinate, autodiscovered from `tasks` modules).

A `deliver` job is one delivery; procrastinate retries it when the attempt says so
(retry.Backoff), and `manage.py procrastinate worker` runs it (`make run` starts one).
`prune` keeps the delivery log from growing for ever (EVENTS_RETENTION_DAYS).
"""

from procrastinate import JobContext
from procrastinate.contrib.django import app

from . import retry, services

QUEUE = "events"
DELIVER = "events.deliver"
PRUNE = "events.prune"


@app.task(name=DELIVER, queue=QUEUE, pass_context=True, retry=retry.Backoff())
def deliver(context: JobContext, delivery_id: int) -> None:
    services.delivery_attempt(
        delivery_id=delivery_id, job_id=context.job.id if context.job else None
    )


@app.periodic(cron="* * * * *")
@app.task(name="events.retry_stalled", queue=QUEUE, queueing_lock="events.retry_stalled")
async def retry_stalled(timestamp: int) -> None:
    """A worker that died mid-delivery leaves its job "doing" (its heartbeat stops):
    hand the job to a live worker, so a committed event is still delivered."""
    manager = app.job_manager
    for job in await manager.get_stalled_jobs(task_name=DELIVER):
        await manager.retry_job(job)


@app.periodic(cron="23 * * * *")  # hourly, off the hour most cron jobs pick
@app.task(name=PRUNE, queue=QUEUE, queueing_lock=PRUNE)
def prune(timestamp: int) -> None:
    """Delete deliveries that finished more than EVENTS_RETENTION_DAYS ago, in batches
    (services.events_prune); one job at a time (`queueing_lock`)."""
    services.events_prune()
