# A flow whose first task takes minutes (half-second naps, so an interrupt lands quickly) and a second task after
# it: the run to cancel while it is busy, and the run lost with its agent (no retries: the ZombieKiller fails the
# task, Lazarus reschedules the run, and the rerun ends Failed because `long_work` already failed).
import time

import prefect
from prefect import Flow, task


@task
def long_work():
    prefect.context.get("logger").info("e2e long work started")
    for _ in range(600):
        time.sleep(0.5)


@task
def afterwards(_):
    prefect.context.get("logger").info("e2e afterwards ran")


with Flow("e2e-slow") as flow:
    afterwards(long_work())
