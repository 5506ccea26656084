# A flow for the UI's Restart buttons: `flaky` fails the first time it runs in a flow run (it leaves a marker file
# in Core's home folder, one per flow run) and succeeds when run again, so a failed run can be restarted the UI's
# way and finish. Results are checkpointed (LocalResult), so a restarted run loads `prepare`'s result instead of
# running it again.
import os

import prefect
from prefect import Flow, task
from prefect.engine.results import LocalResult


def log(message, *args):
    prefect.context.get("logger").info(message, *args)


@task
def prepare():
    log("e2e prepare ran")
    return "prepared"


@task
def flaky(value):
    folder = os.path.expanduser("~/e2e-markers")
    os.makedirs(folder, exist_ok=True)
    marker = os.path.join(folder, str(prefect.context.get("flow_run_id")))
    if not os.path.exists(marker):
        open(marker, "w").close()
        log("e2e flaky failed on its first run")
        raise ValueError("the first run of flaky fails")
    log("e2e flaky ran with %s", value)
    return value


@task
def finish(value):
    log("e2e finish ran with %s", value)


with Flow("e2e-restartable", result=LocalResult()) as flow:
    finish(flaky(prepare()))
