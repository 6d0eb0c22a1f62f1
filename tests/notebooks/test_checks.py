"""The exercise checks judge behaviour and say concretely what is wrong.

Each check is given the reference answer (Correct) and typical mistakes (Incorrect, with a message
naming the problem); "..." is "not attempted". The PromQL and rule checks run on the shared seeded
simulation, the instrumentation check against a real HTTP service, the Alertmanager checks on the
virtual clock.
"""

from __future__ import annotations

import pytest

from toyservice.instrumented import InstrumentedToyService
from toyservice.uninstrumented import ToyService
from workshop.checks import ch00, ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08

pytestmark = pytest.mark.slow

# ch06.q2 runs the participant's test against their q1 rule, read from the caller's namespace.
alert_rule = ch06.REFERENCE_RULE


def verdict(exercise, answer) -> tuple[str, str]:
    result = exercise.check(answer)
    return result.status, result.message


def test_ellipsis_means_not_attempted_for_every_exercise():
    for module in (ch00, ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08):
        for name in ("q1", "q2", "q3", "q4", "q5"):
            exercise = getattr(module, name, None)
            if exercise is not None:
                assert exercise.check(...).status == "not attempted", f"{module.__name__}.{name}"


def test_query_checks_accept_an_equivalent_query_and_name_the_wrong_labels():
    assert verdict(ch03.q1, "sum(rate(http_requests_total[5m])) by (instance)")[0] == "correct"
    status, message = verdict(ch03.q1, "sum(rate(http_requests_total[5m]))")
    assert status == "incorrect" and "missing labels: instance" in message
    status, message = verdict(ch03.q3, ch03.P99.replace("le, path", "path"))
    assert status == "incorrect"


def test_query_checks_report_wrong_values_and_parse_errors_with_their_position():
    status, message = verdict(ch03.q1, "sum by (instance) (rate(http_requests_total[1m]))")
    assert status == "incorrect" and "other values" in message and "should be" in message
    status, message = verdict(ch01.q1, "http_requests_total{method=")
    assert status == "incorrect" and "does not run" in message and "^" in message
    status, message = verdict(ch01.q1, 'http_requests_total{method="POST", path="/api/bar"}')
    assert status == "incorrect" and "series too many" in message


def test_instrumentation_check_scrapes_the_service_over_http():
    assert verdict(ch02.q1, InstrumentedToyService)[0] == "correct"
    status, message = verdict(ch02.q1, ToyService)
    assert status == "incorrect" and "/metrics answered 404" in message


def test_instrumentation_check_catches_a_leaking_in_flight_gauge():
    class Leaky(InstrumentedToyService):
        async def api(self, method, path):
            reply = await super().api(method, path)
            self.in_flight.inc()
            return reply

    status, message = verdict(ch02.q1, Leaky)
    assert status == "incorrect" and "http_requests_in_flight is 12" in message


def test_alert_check_replays_the_rule_and_finds_missed_outages_false_alarms_and_no_for():
    assert verdict(ch06.q1, ch06.REFERENCE_RULE)[0] == "correct"
    status, message = verdict(ch06.q1, ch06.REFERENCE_RULE.replace("> 0.05", "> 0.5"))
    assert status == "incorrect" and "never fired for instance" in message
    status, message = verdict(ch06.q1, ch06.REFERENCE_RULE.replace("> 0.05", "> 0.005"))
    assert status == "incorrect" and "no outage" in message
    status, message = verdict(ch06.q1, ch06.REFERENCE_RULE.replace("for: 1m", ""))
    assert status == "incorrect" and "without being pending first" in message
    status, message = verdict(ch06.q1, ch06.REFERENCE_RULE.replace("expr:", "exp:"))
    assert status == "incorrect" and "alerts.yml:5" in message


def test_rule_test_check_requires_the_test_to_catch_broken_rules():
    assert verdict(ch06.q2, ch06.REFERENCE_TEST)[0] == "correct"
    only_quiet = ch06.REFERENCE_TEST.split("  - name: ten percent")[0] + "  - name: one percent" + \
        ch06.REFERENCE_TEST.split("  - name: one percent")[1]
    status, message = verdict(ch06.q2, only_quiet)
    assert status == "incorrect" and "never fires" in message


def test_alertmanager_checks_judge_the_notifications_that_arrive():
    assert verdict(ch07.q1, ch07.ROUTING)[0] == "correct"
    assert verdict(ch07.q2, ch07.INHIBITION)[0] == "correct"
    assert verdict(ch07.q3, ch07.SILENCE)[0] == "correct"
    status, message = verdict(ch07.q1, ch07.ROUTING.replace("[alertname]", "[alertname, instance]"))
    assert status == "incorrect" and "first notification lists 1 of the 3" in message
    status, message = verdict(ch07.q2, ch07.ROUTING)
    assert status == "incorrect" and "still hears about its HighErrorRatio" in message
    status, message = verdict(ch07.q3, 'alertname="HighErrorRatio"')
    assert status == "incorrect" and "also mutes" in message


def test_dashboard_check_looks_at_what_each_panel_shows():
    assert verdict(ch04.q1, ch04.REFERENCE)[0] == "correct"
    raw_counter = ch04.REFERENCE.replace("sum by (instance) (rate(http_requests_total[$__rate_interval]))",
                                         "sum by (instance) (http_requests_total)", 1)
    status, message = verdict(ch04.q1, raw_counter)
    assert status == "incorrect" and "requests/s" in message
    status, message = verdict(ch04.q1, ch04.REFERENCE.replace('{status=~"5.."}', ""))
    assert status == "incorrect" and "typically shows 1" in message
    status, message = verdict(ch04.q1, ch04.REFERENCE.replace("unit: s\n", "unit: ms\n"))
    assert status == "incorrect" and "no panel with unit `s`" in message


def test_host_queries_are_checked_on_the_simulated_node_exporter():
    assert verdict(ch05.q3, ch05.DISK_IN_4H)[0] == "correct"
    status, message = verdict(ch05.q3, ch05.DISK_IN_4H.replace("4 * 3600", "3600"))
    assert status == "incorrect" and "other values" in message


def test_batch_alert_check_runs_generated_rule_tests():
    assert verdict(ch08.q2, ch08.REFERENCE_RULE)[0] == "correct"
    status, message = verdict(ch08.q2, ch08.REFERENCE_RULE.replace("> 600", "> 60"))
    assert status == "incorrect" and "before 10 have passed" in message
    status, message = verdict(ch08.q2, ch08.REFERENCE_RULE.replace("> 600", "> 6000"))
    assert status == "incorrect" and "does not fire 15 minutes" in message
