# A flow with an approval step: `approve` has the manual_only trigger, so the run pauses there (the task run
# Paused, the flow run still Running) until someone sets the task run to Resume; the run then goes on in a new
# process, which reads `prepare`'s checkpointed result.
import prefect
from prefect import Flow, task
from prefect.engine.results import LocalResult
from prefect.triggers import manual_only


@task
def prepare():
    return "prepared"


@task(trigger=manual_only)
def approve(value):
    prefect.context.get("logger").info("e2e approved: %s", value)
    return value


@task
def finish(value):
    prefect.context.get("logger").info("e2e finished after approval")


# LocalResult (in Core's home folder, results/): task results are checkpointed, so a later process can load them
with Flow("e2e-pause", result=LocalResult()) as flow:
    finish(approve(prepare()))
