# A flow that only an agent labelled "e2e-special" may run: its run config carries that label, and its storage does
# not add the hostname label Local storage adds by default.
import prefect
from prefect import Flow, task
from prefect.run_configs import LocalRun
from prefect.storage import Local


@task
def report():
    prefect.context.get("logger").info("e2e labelled flow ran")


with Flow(
    "e2e-labelled",
    run_config=LocalRun(labels=["e2e-special"]),
    storage=Local(path=__file__, stored_as_script=True, add_default_labels=False),
) as flow:
    report()
