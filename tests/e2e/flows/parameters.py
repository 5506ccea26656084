# A flow with a required parameter and an optional one, for the parameter checks of the end-to-end suite.
import prefect
from prefect import Flow, Parameter, task


@task
def greet(who, punctuation):
    prefect.context.get("logger").info("e2e greets %s%s", who, punctuation)


with Flow("e2e-parameters") as flow:
    greet(Parameter("who", required=True), Parameter("punctuation", default="!"))
