# Twenty mapped children of a task tagged "e2e-limited", run by eight threads at once: with the tag limited to 2 by
# the server, at most two of them may be running at any moment (the rest are answered QUEUED and retry). Each child
# sleeps long enough that unlimited children would overlap.
import time

from prefect import Flow, task
from prefect.executors import LocalDaskExecutor


@task
def items():
    return list(range(20))


@task(tags=["e2e-limited"])
def hold(x):
    time.sleep(0.5)
    return x


@task
def count(values):
    return len(values)


with Flow("e2e-limited", executor=LocalDaskExecutor(scheduler="threads", num_workers=8)) as flow:
    count(hold.map(items()))
