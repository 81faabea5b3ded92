"""Job queues over a real Redis: the seed post's master-worker and a reliable version.

    from aiocourse.queue import JobQueue, Worker, connect, sleep_job

    r = await connect(server.url)
    queue = JobQueue(r, "jobs")
    await queue.push("2", "5", "1", "1")
    stats = await Worker(queue, sleep_job(unit=0.05)).run()   # until worker.stop()

From a terminal (``--url`` or REDIS_URL; ``server`` starts a private Redis and prints its URL):

    python -m aiocourse.queue server
    python -m aiocourse.queue worker --url redis://127.0.0.1:PORT/0
    python -m aiocourse.queue push --url redis://127.0.0.1:PORT/0 2 5 1 1
    python -m aiocourse.queue legacy --url ...       # the post's design: polls the list `queue`
"""

from .reliable import (
    BadPayload,
    DeadLetter,
    JobQueue,
    QueueStats,
    RedisUnavailable,
    Worker,
    WorkerStats,
    connect,
    parse_units,
    sleep_job,
)

__all__ = ["BadPayload", "DeadLetter", "JobQueue", "QueueStats", "RedisUnavailable", "Worker",
           "WorkerStats", "connect", "parse_units", "sleep_job"]
