"""``workshop promtool test rules FILE...``: unit tests for alerting and recording rules.

The test files are upstream's format (``rule_files``, ``evaluation_interval``, ``tests`` with
``input_series``, ``alert_rule_test`` and ``promql_expr_test``), so a participant's tests pass
under the real ``promtool test rules`` too. Each test group runs on a fresh in-memory TSDB: the
input series are loaded, every rule group is evaluated at 0, interval, 2*interval, ... up to the
last ``eval_time`` (the same ``Group.evaluate`` the server runs), the firing alerts are compared at
their ``eval_time``, and the PromQL expressions are evaluated at the end, as promtool does.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

from stack.clock import VirtualClock
from stack.config import ConfigError, check_keys, load_yaml, parse_duration_ms
from stack.model import Labels
from stack.promtool.series_desc import SeriesDescError, parse_series, parse_series_line
from stack.rules.alerting import AlertingRule, AlertState
from stack.rules.manager import expand_rule_files
from stack.rules.rulefile import load_rule_file

DEFAULT_INTERVAL_MS = 60_000  # promtool: evaluation_interval and the series interval default to 1m

FILE_KEYS = ("rule_files", "evaluation_interval", "group_eval_order", "tests")
GROUP_KEYS = (
    "name",
    "interval",
    "input_series",
    "alert_rule_test",
    "promql_expr_test",
    "external_labels",
    "external_url",
)


@dataclass
class TestResult:
    name: str
    errors: list[str] = field(default_factory=list)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: workshop promtool test rules FILE...", file=sys.stderr)
        return 2
    failed = False
    for path in argv:
        print(f"Unit Testing:  {path}")
        try:
            results = run_test_file(path)
        except ConfigError as e:
            print(f"  FAILED:\n    {e}\n")
            failed = True
            continue
        problems = [r for r in results if r.errors]
        if problems:
            failed = True
            print("  FAILED:")
            for r in problems:
                for err in r.errors:
                    print(f"    {r.name}: {err}" if r.name else f"    {err}")
            print()
        else:
            print("  SUCCESS\n")
    return 1 if failed else 0


def run_test_file(path: str) -> list[TestResult]:
    doc = load_yaml(path)
    check_keys(doc, FILE_KEYS, "main.unitTestFile")
    base = os.path.dirname(os.path.abspath(path))
    rule_files = expand_rule_files(doc.get("rule_files") or [], base)
    for pattern in doc.get("rule_files") or []:
        if not expand_rule_files([pattern], base):
            raise doc.error(f"no rule file matches {pattern!r}", "rule_files")
    interval = _duration(doc, "evaluation_interval", DEFAULT_INTERVAL_MS)
    order = list(doc.get("group_eval_order") or [])
    results = []
    for i, tg in enumerate(doc.get("tests") or []):
        check_keys(tg, GROUP_KEYS, "main.testGroup")
        results.append(_run_group(tg, rule_files, interval, order, i))
    return results


def _run_group(tg, rule_files: list[str], eval_interval: int, order: list[str], index: int) -> TestResult:
    from stack.promql.engine import Engine
    from stack.rules.group import Group
    from stack.tsdb import Head

    result = TestResult(tg.get("name") or "")
    head = Head()
    _load_input(head, tg, _duration(tg, "interval", DEFAULT_INTERVAL_MS))
    engine = Engine(head)
    clock = VirtualClock(start=0.0)
    external_labels = {str(k): str(v) for k, v in (tg.get("external_labels") or {}).items()}
    groups = []
    for f in rule_files:
        for spec in load_rule_file(f):
            groups.append(
                Group(
                    spec,
                    interval_ms=spec.interval_ms or eval_interval,
                    query_offset_ms=spec.query_offset_ms or 0,
                    engine=engine,
                    storage=head,
                    clock=clock,
                    external_labels=external_labels,
                    external_url=tg.get("external_url") or "http://localhost:9090",
                )
            )
    if order:
        rank = {name: i for i, name in enumerate(order)}
        groups.sort(key=lambda g: rank.get(g.name, len(rank)))

    alert_tests = list(tg.get("alert_rule_test") or [])
    expr_tests = list(tg.get("promql_expr_test") or [])
    times = [_duration(t, "eval_time", 0) for t in alert_tests + expr_tests]
    max_t = max(times, default=0)
    by_time: dict[int, list] = {}
    for t in alert_tests:
        by_time.setdefault(_duration(t, "eval_time", 0), []).append(t)

    ts = 0
    while ts <= max_t:
        for g in groups:
            g.evaluate(ts)
        for test in by_time.pop(ts, []):
            result.errors.extend(_check_alerts(test, groups, ts))
        ts += eval_interval
    for t, tests in by_time.items():  # eval_time not on an evaluation step: never evaluated
        for test in tests:
            result.errors.append(
                f"alertname: {test.get('alertname')}, time: {_fmt(t)}: "
                f"eval_time is not a multiple of evaluation_interval"
            )
    for test in expr_tests:
        result.errors.extend(_check_expr(test, engine))
    clock.close()
    return result


def _load_input(head, tg, interval: int) -> None:
    app = head.appender()
    for item in tg.get("input_series") or []:
        check_keys(item, ("series", "values"), "main.series")
        try:
            labels, values = parse_series_line(f"{item.get('series', '')} {item.get('values', '')}")
        except SeriesDescError as e:
            raise item.error(str(e), "values") from None
        for k, v in enumerate(values):
            if v is not None:
                app.append(labels, k * interval, v)
    app.commit()


def _check_alerts(test, groups, ts: int) -> list[str]:
    check_keys(test, ("eval_time", "alertname", "exp_alerts"), "main.alertTestCase")
    name = test.get("alertname")
    got = []
    for g in groups:
        for rule in g.rules:
            if isinstance(rule, AlertingRule) and rule.name == name:
                got += [
                    (a.labels, a.annotations) for a in rule.active.values() if a.state == AlertState.FIRING
                ]
    exp = []
    for e in test.get("exp_alerts") or []:
        check_keys(e, ("exp_labels", "exp_annotations"), "main.alert")
        labels = {str(k): str(v) for k, v in (e.get("exp_labels") or {}).items()}
        labels["alertname"] = str(name)
        exp.append((Labels(labels), {str(k): str(v) for k, v in (e.get("exp_annotations") or {}).items()}))
    got.sort(key=lambda x: x[0])
    exp.sort(key=lambda x: x[0])
    if got == exp:
        return []
    return [
        f"alertname: {name}, time: {_fmt(ts)},\n"
        f"        exp:{_fmt_alerts(exp)},\n        got:{_fmt_alerts(got)}"
    ]


def _check_expr(test, engine) -> list[str]:
    from stack.promql.value import Scalar, Vector

    check_keys(test, ("expr", "eval_time", "exp_samples"), "main.promqlTestCase")
    expr, t = str(test.get("expr")), _duration(test, "eval_time", 0)
    try:
        value = engine.instant(expr, t)
    except Exception as e:  # the query's own error, shown to the user as promtool does
        return [f"    expr: {expr!r}, time: {_fmt(t)}, err: {e}"]
    if isinstance(value, Scalar):
        got = [(Labels(), value.v)]
    elif isinstance(value, Vector):
        got = [(s.labels, s.v) for s in value.samples]
    else:
        return [f"    expr: {expr!r}, time: {_fmt(t)}, err: expression must return a vector or scalar"]
    exp = []
    for s in test.get("exp_samples") or []:
        check_keys(s, ("labels", "value"), "main.sample")
        labels = parse_series(s["labels"]) if s.get("labels") else Labels()
        exp.append((labels, float(s.get("value", 0))))
    got.sort(key=lambda x: x[0])
    exp.sort(key=lambda x: x[0])
    if len(got) == len(exp) and all(
        g[0] == e[0] and _same(g[1], e[1]) for g, e in zip(got, exp, strict=True)
    ):
        return []
    return [
        f"    expr: {expr!r}, time: {_fmt(t)},\n"
        f"        exp: {_fmt_samples(exp)}\n        got: {_fmt_samples(got)}"
    ]


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-12)


def _duration(m, key: str, default: int) -> int:
    if m.get(key) is None:
        return default
    try:
        return parse_duration_ms(str(m[key]))
    except ValueError as e:
        raise m.error(str(e), key) from None


def _fmt(ms: int) -> str:
    from stack.config import format_duration_ms

    return format_duration_ms(ms)


def _fmt_alerts(alerts) -> str:
    if not alerts:
        return "[]"
    lines = [
        f"\n            {i}:\n              Labels:{labels}\n              Annotations:{_fmt_map(ann)}"
        for i, (labels, ann) in enumerate(alerts)
    ]
    return "[" + "".join(lines) + "\n            ]"


def _fmt_map(d: dict) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(d.items())) + "}"


def _fmt_samples(samples) -> str:
    return "[" + ", ".join(f"{labels} {v}" for labels, v in samples) + "]"
