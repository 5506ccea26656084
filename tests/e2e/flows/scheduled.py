# A flow on a schedule that fires every 10 seconds. Core refuses IntervalClocks under a minute when it serializes
# a flow ("Interval can not be less than one minute when deploying to Prefect Cloud."), but a CronClock may use
# croniter's sixth field, seconds: "* * * * * */10" is every minute at :00, :10, … :50. The server has to read
# that field as croniter does (last, not first as in some cron dialects).
import prefect
from prefect import Flow, task
from prefect.schedules import Schedule
from prefect.schedules.clocks import CronClock


@task
def tick():
    prefect.context.get("logger").info("e2e tick scheduled for %s", prefect.context.get("scheduled_start_time"))


with Flow("e2e-scheduled", schedule=Schedule(clocks=[CronClock("* * * * * */10")])) as flow:
    tick()
