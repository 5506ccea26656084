# A small flow for the end-to-end suite: three tasks in a line, one of which logs through Prefect's logger (the
# line the tests look for in the run's logs). `prefect register -p` gives it script-based Local storage, which labels
# it with this machine's hostname, as a LocalAgent with its default labels expects.
import prefect
from prefect import Flow, task


@task
def greeting():
    return "Hello from the e2e suite"


@task
def shout(text):
    prefect.context.get("logger").info("e2e says: %s", text.upper())
    return text.upper()


@task
def length(text):
    return len(text)


with Flow("e2e-simple") as flow:
    length(shout(greeting()))
