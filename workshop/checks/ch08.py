"""Chapter 8, batch jobs: the age of the last success, as a query and as an alert.

q1 is judged on the shared simulation, where the toy services' batch jobs push to the Pushgateway.
q2, the alert, is judged by ``promtool test rules`` on two made-up histories that the check writes
itself: a job that keeps succeeding (the alert must stay quiet) and one whose last success is frozen
(it must fire once the success is older than 10 minutes, and not before).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from stack.config import ConfigError
from stack.promtool.test_rules import run_test_file
from stack.rules.rulefile import load_rule_file
from workshop.checks._common import outside_event_loop, query_exercise
from workshop.exercises import Exercise, Incorrect

LAST_SUCCESS_AGE = 'time() - batch_job_last_success_timestamp_seconds{job="toyservice_batch"}'
MAX_AGE_SECONDS = 600

REFERENCE_RULE = """\
groups:
  - name: batch
    rules:
      - alert: BatchJobNotSucceeding
        expr: time() - batch_job_last_success_timestamp_seconds{job="toyservice_batch"} > 600
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.instance }}'s batch job last succeeded {{ $value | humanizeDuration }} ago"
"""

_SERIES = 'batch_job_last_success_timestamp_seconds{job="toyservice_batch", instance="toyservice-1"}'
# A job that succeeds every minute (its last-success time follows the clock), and one that succeeded
# at 0 and never again. Times in promtool tests start at 0, so the value *is* the success time.
_HEALTHY = {"series": _SERIES, "values": "0+60x40"}
_STUCK = {"series": _SERIES, "values": "0x40"}


def _generated_test(alertname: str, rule_labels: dict[str, str]) -> dict:
    def case(name, series, checks):
        return {"name": name, "interval": "1m", "input_series": [series],
                "alert_rule_test": [{"eval_time": t, "alertname": alertname, "exp_alerts": exp}
                                    for t, exp in checks]}  # fmt: skip

    firing = [{"exp_labels": {**rule_labels, "job": "toyservice_batch", "instance": "toyservice-1"}}]
    return {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": [
        case("a job that keeps succeeding stays quiet", _HEALTHY, [("30m", [])]),
        case("a stuck job is quiet at 9 minutes", _STUCK, [("9m", [])]),
        case("a stuck job fires by 15 minutes", _STUCK, [("15m", firing)]),
    ]}  # fmt: skip


_PROBLEMS = {  # test case -> what it means when the participant's rule fails it
    "a job that keeps succeeding stays quiet": "it fires although the job keeps succeeding",
    "a stuck job is quiet at 9 minutes": "it fires 9 minutes after the last success, before 10 have passed",
    "a stuck job fires by 15 minutes": "it does not fire 15 minutes after the last success "
                                       "(or the alert lost the job/instance labels)",
}


def check_alert(text) -> str:
    if not isinstance(text, str):
        raise Incorrect(f"the rule file should be YAML text in a string, not a {type(text).__name__}.")
    try:
        groups = load_rule_file("alerts.yml", text)
    except ConfigError as e:
        raise Incorrect(f"the rule file is not valid: {e}") from None
    alerts = [r for g in groups for r in g.rules if r.alert]
    if len(alerts) != 1:
        raise Incorrect(f"write exactly one alerting rule (found {len(alerts)}).")
    with tempfile.TemporaryDirectory(prefix="workshop-ch08-") as tmp:
        # promtool compares annotations too; the generated cases judge only when the alert fires.
        doc = yaml.safe_load(text)
        for group in doc["groups"]:
            for rule in group.get("rules") or []:
                rule.pop("annotations", None)
        (Path(tmp) / "alerts.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        test = Path(tmp) / "generated.test.yml"
        test.write_text(yaml.safe_dump(_generated_test(alerts[0].alert, alerts[0].labels)), encoding="utf-8")
        results = outside_event_loop(run_test_file, str(test))
    for r in results:
        if r.errors:
            raise Incorrect(f"{_PROBLEMS[r.name]}. promtool says: {r.errors[0].splitlines()[0]}")
    return "quiet while the job succeeds, fires once its last success is over 10 minutes old."


q1 = query_exercise(
    "q1", LAST_SUCCESS_AGE,
    "time() minus the pushed last-success timestamp, of the series with job=\"toyservice_batch\".",
)  # fmt: skip
q2 = Exercise(
    "q2", check_alert, variable="batch_alert",
    hint="expr: your q1 query `> 600`, with a short `for` and a severity label.",
    solution=f'batch_alert = """\\\n{REFERENCE_RULE}"""',
)  # fmt: skip
