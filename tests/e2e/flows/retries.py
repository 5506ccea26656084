# A task that fails on its first attempt and succeeds on its second: Core sets Retrying with a start time
# retry_delay ahead, then runs it again.
from datetime import timedelta

import prefect
from prefect import Flow, task


@task(max_retries=2, retry_delay=timedelta(seconds=2))
def flaky():
    attempt = prefect.context.get("task_run_count", 1)
    prefect.context.get("logger").info("e2e flaky attempt %d", attempt)
    if attempt < 2:
        raise RuntimeError("e2e: the first attempt fails")
    return attempt


@task
def after(attempt):
    prefect.context.get("logger").info("e2e succeeded on attempt %d", attempt)


with Flow("e2e-retries") as flow:
    after(flaky())
