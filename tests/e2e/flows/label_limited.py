# A flow for agents labelled "e2e-gpu", whose one task takes a moment: with the label limited to 1 by the server, its
# runs go one at a time however many agents poll for them.
import time

import prefect
from prefect import Flow, task
from prefect.run_configs import LocalRun
from prefect.storage import Local


@task
def occupy():
    prefect.context.get("logger").info("e2e gpu work")
    time.sleep(1.5)


with Flow(
    "e2e-label-limited",
    run_config=LocalRun(labels=["e2e-gpu"]),
    storage=Local(path=__file__, stored_as_script=True, add_default_labels=False),
) as flow:
    occupy()
