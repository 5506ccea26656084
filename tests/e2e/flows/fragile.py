# A flow whose first attempt at `work` outlives the machine it runs on: the tests kill the agent with its flow-run
# process while the task sleeps. The task may be retried once, so the ZombieKiller's Retrying state sends the run
# back to the queue, and the second attempt (in another agent's process) finishes at once.
import time
from datetime import timedelta

import prefect
from prefect import Flow, task
from prefect.engine.results import LocalResult


@task(max_retries=1, retry_delay=timedelta(seconds=0))
def work():
    attempt = prefect.context.get("task_run_count", 1)
    prefect.context.get("logger").info("e2e fragile work, attempt %d", attempt)
    if attempt == 1:
        for _ in range(1200):
            time.sleep(0.5)
    return attempt


@task
def report(attempt):
    prefect.context.get("logger").info("e2e work done on attempt %d", attempt)


with Flow("e2e-fragile", result=LocalResult()) as flow:
    report(work())
