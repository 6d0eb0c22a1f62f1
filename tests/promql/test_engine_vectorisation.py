"""The step matrix must agree with one-step evaluation: a range query is many instant queries.

The engine evaluates all steps of a range query at once with numpy; an instant query is the
one-step case. For irregular data (gaps, stale markers, counter resets, NaN, several jobs) every
step of a range query must equal the instant query at that time, for every kind of node.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stack.model import STALE_NAN, Labels
from stack.promql import Engine, QueryError
from stack.promql.value import Matrix, Scalar, Vector
from stack.tsdb import Head

STEP = 45_000  # not a multiple of the 15s scrape interval, so windows shift against the data
START, END = 0, 30 * 60_000

EXPRESSIONS = [
    "x",
    "x offset 2m",
    "x @ 600",
    "rate(x[2m])",
    "increase(x[5m])",
    "irate(x[3m])",
    "delta(g[4m])",
    "idelta(g[4m])",
    "deriv(g[5m])",
    "predict_linear(g[5m], 120)",
    "resets(x[10m])",
    "changes(g[10m])",
    "sum_over_time(g[3m])",
    "avg_over_time(g[3m])",
    "min_over_time(g[3m])",
    "max_over_time(g[3m])",
    "count_over_time(x[3m])",
    "stddev_over_time(g[5m])",
    "quantile_over_time(0.3, g[5m])",
    "last_over_time(x[3m])",
    "absent_over_time(x{job=\"none\"}[1m])",
    "sum by (job) (rate(x[2m]))",
    "avg without (instance) (g)",
    "max(g) - min(g)",
    "count by (job) (x)",
    "stddev by (job) (g)",
    "quantile by (job) (0.75, g)",
    "topk(2, g)",
    "bottomk by (job) (1, g)",
    "count_values(\"v\", round(g))",
    "g > 0.5",
    "g > bool 0.5",
    "x / on(instance, job) group_left g",
    "x and g",
    "x unless g > 0.8",
    "g or x",
    "clamp(g, 0.2, 0.6)",
    "abs(g - 0.5) ^ 2",
    "label_replace(g, \"host\", \"h$1\", \"instance\", \"(.*)\")",
    "max_over_time(rate(x[2m])[5m:1m])",
    "avg_over_time(g[30s:10s])",  # windows shorter than the outer step: a sparse inner grid
    "sum_over_time(x[2m:] offset 1m)",
    "time() - timestamp(x)",
    "scalar(sum(g)) * 2",
    "vector(1) + sum(g)",
    "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
    "-x",
]


def build_engine(seed: int) -> Engine:
    rng = np.random.default_rng(seed)
    head = Head()
    app = head.appender()
    times = np.arange(0, END + 1, 15_000)
    for job in ("a", "b"):
        for inst in range(3):
            labels = {"job": job, "instance": str(inst)}
            counter = np.cumsum(rng.integers(0, 5, len(times))).astype(float)
            reset_at = rng.integers(len(times))
            counter[reset_at:] -= counter[reset_at] - 1  # one counter reset
            gauge = rng.random(len(times))
            gauge[rng.random(len(times)) < 0.05] = math.nan
            for k, t in enumerate(times.tolist()):
                if rng.random() < 0.1:
                    continue  # a missed scrape
                stale = rng.random() < 0.02
                app.append(Labels({"__name__": "x", **labels}), t, STALE_NAN if stale else counter[k])
                app.append(Labels({"__name__": "g", **labels}), t, gauge[k])
    for le, share in (("0.1", 0.3), ("0.5", 0.8), ("+Inf", 1.0)):
        for k, t in enumerate(times.tolist()):
            app.append(Labels({"__name__": "h_bucket", "le": le}), t, float(int(k * 10 * share)))
    app.commit()
    return Engine(head)


@pytest.fixture(scope="module", params=[7])
def engine(request):
    return build_engine(request.param)


def _instant_points(engine: Engine, expr: str, t: int) -> dict[Labels, float]:
    res = engine.instant(expr, t)
    if isinstance(res, Scalar):
        return {Labels(): res.v}
    assert isinstance(res, Vector)
    return {s.labels: s.v for s in res.samples}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_range_query_equals_instant_query_at_every_step(engine, expr):
    try:
        matrix = engine.range(expr, START, END, STEP)
    except QueryError as e:
        with pytest.raises(QueryError):
            engine.instant(expr, START)
        pytest.fail(f"range query failed: {e}")
    assert isinstance(matrix, Matrix)
    by_step: dict[int, dict[Labels, float]] = {}
    for s in matrix.series:
        for t, v in zip(s.t.tolist(), s.v.tolist(), strict=True):
            by_step.setdefault(t, {})[s.labels] = v
    non_empty = 0
    for t in range(START, END + 1, STEP):
        want = _instant_points(engine, expr, t)
        got = by_step.get(t, {})
        assert set(got) == set(want), f"{expr} at {t}: labels differ"
        assert all(_same(got[k], want[k]) for k in want), f"{expr} at {t}: {got} != {want}"
        non_empty += bool(want)
    if "absent" not in expr:
        assert non_empty > 0, f"{expr} is empty at every step: the test would prove nothing"


@pytest.mark.parametrize("expr", ["deriv(g[20m])", "predict_linear(g[20m], 600)", "deriv(c[20m])",
                                  "predict_linear(big[20m], 3600)", "deriv(edge[20m])"])
def test_linear_regression_window_by_window_equals_all_windows_at_once(monkeypatch, expr):
    """The two ways of summing a regression (see rangefuncs.linear_regression) give the same bits."""
    from stack.promql import rangefuncs

    head = Head()
    app = head.appender()
    rng = np.random.default_rng(3)
    times = np.arange(0, 30 * 60_000 + 1, 15_000).tolist()
    for i in range(3):
        gauge, big = rng.random(len(times)), 1e15 + rng.integers(-5, 5, len(times)) * 1e3
        for k, t in enumerate(times):
            app.append(Labels({"__name__": "g", "i": str(i)}), t, gauge[k] * 10 ** (i * 3))
            app.append(Labels({"__name__": "c", "i": str(i)}), t, 2.5)  # constant: slope 0
            app.append(Labels({"__name__": "big", "i": str(i)}), t, big[k])  # cancellation-prone
    edge = {"nan": math.nan, "inf": math.inf, "one": None}
    for name, v in edge.items():
        for t in times[-2:] if name != "one" else times[-1:]:
            app.append(Labels({"__name__": "edge", "kind": name}), t, v if v is not None else 1.0)
    app.commit()
    engine = Engine(head)
    results = []
    for py_cost in (0.0, 1e9):  # window by window, then all windows at once
        monkeypatch.setattr(rangefuncs, "_PY_STEP_COST", py_cost)
        instant = engine.instant(expr, times[-1])
        ranged = engine.range(expr, times[-10], times[-1], 15_000)
        results.append(([(s.labels, s.v) for s in instant.samples],
                        [(s.labels, s.v.tobytes()) for s in ranged.series]))
    assert results[0][0], f"{expr}: empty, the test would prove nothing"
    by_window, at_once = results
    assert [(ls, np.float64(v).tobytes()) for ls, v in by_window[0]] == \
        [(ls, np.float64(v).tobytes()) for ls, v in at_once[0]]
    assert by_window[1] == at_once[1]
