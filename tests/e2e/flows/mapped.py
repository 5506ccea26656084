# Map/reduce over a parameterised number of items (100 by default): one mapped task with a child task run per item,
# and a reducer that logs the total the tests check.
import prefect
from prefect import Flow, Parameter, task


@task
def numbers(n):
    return list(range(1, n + 1))


@task
def double(x):
    return 2 * x


@task
def total(values):
    prefect.context.get("logger").info("e2e total: %d of %d values", sum(values), len(values))
    return sum(values)


with Flow("e2e-mapped") as flow:
    total(double.map(numbers(Parameter("n", default=100))))
