"""Where the library's heavy work runs: in this process after the commit, or as a task of Django's Tasks framework.

Each piece of background work (promoting an upload, deleting a replaced file, cleanup) is a plain module-level
function of the module that owns its rule, and ``tasks`` wraps each one in a task of the same name. With
``STORAGE["PROMOTION"] = "task"`` ``run_after_commit`` enqueues that task once the saving transaction commits;
otherwise it calls the function itself at that moment, so a project without a worker (or without the Tasks
framework installed) keeps today's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..settings import storage_settings

logger = logging.getLogger("alliance_platform.storage")


def run_after_commit(job: Callable[..., Any], *args: Any, using: str = "default") -> None:
    """Run ``job(*args)`` once the current transaction on ``using`` commits (at once outside one)."""
    if storage_settings.promotes_in_tasks:
        transaction.on_commit(partial(enqueue, job.__name__, *args), using=using)
    else:
        transaction.on_commit(partial(job, *args), using=using)


def enqueue(task_name: str, *args: Any, delay: float | None = None) -> Any:
    """Enqueue the library task ``task_name`` on the configured backend and queue, after ``delay`` seconds when
    the backend can defer tasks (otherwise at once).

    An enqueue that fails (the broker is down) is logged, not raised: the work it stood for is recorded in the
    database (a claimed, unpromoted upload), and the ``resume_promotions`` task finds and enqueues it again.
    """
    from . import tasks

    task = getattr(tasks, task_name).using(
        backend=storage_settings.TASK_BACKEND, queue_name=storage_settings.TASK_QUEUE
    )
    if delay and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
    try:
        return task.enqueue(*args)
    except Exception as exc:
        logger.error("Could not enqueue %s%r: %s", task_name, args, exc, exc_info=exc)
        return None
