# The big-flow scenario of the bench (bench/suites/bigflow.ts): one flow mapping `n` children (10,000 by default),
# run by a LocalAgent with Core's default LocalExecutor, so every child is a task run that Core creates and moves
# through its states on the server one request at a time, as v1's users ran big maps.
from prefect import Flow, Parameter, task


@task
def numbers(n):
    return list(range(n))


@task
def increment(x):
    return x + 1


@task
def total(values):
    return sum(values)


with Flow("bench-big-map") as flow:
    n = Parameter("n", default=10000)
    total(increment.map(numbers(n)))
