# A task whose result is cached for ten minutes: a second run of the flow within that time finds the first run's
# Cached state through the API, loads the value from the first run's checkpointed result and does not compute it again.
from datetime import timedelta

import prefect
from prefect import Flow, task
from prefect.engine.results import LocalResult


@task(cache_for=timedelta(minutes=10))
def expensive():
    prefect.context.get("logger").info("e2e computing the expensive value")
    return 42


@task
def report(value):
    prefect.context.get("logger").info("e2e the value is %s", value)


# LocalResult (in Core's home folder, results/): task results are checkpointed, so a later process can load them
with Flow("e2e-cached", result=LocalResult()) as flow:
    report(expensive())
