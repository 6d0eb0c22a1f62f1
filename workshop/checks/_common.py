"""What the chapters' checks share: one seeded simulation, and comparing a query with the reference.

Why one simulation per kernel: a PromQL answer can only be judged on data, and the data must be the
same for the participant's query and the reference query, on every laptop and in CI. The notebook
and its checks therefore read the same :class:`workshop.Simulation` (fixed seed, a fixed 20 minutes
of virtual time), built on first use and kept for the life of the kernel, so re-running a cell does
not pay for the simulation again.

Why compare results rather than query text: ``sum by (path) (rate(x[5m]))`` and
``sum(rate(x[5m])) by (path)`` are the same answer. The participant's query is evaluated, and what
differs from the reference result is reported concretely: labels, missing or extra series, values.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd

from workshop.exercises import Exercise, Incorrect

SEED = 7
SIMULATED = "20m"  # two outage cycles of every instance; short, as the whole stack runs in it
SIM_RATE = 2.0  # requests/s per instance: smooth enough to read, cheap enough for a laptop
SIM_SCRAPE_INTERVAL = "10s"
MAX_LISTED = 3  # differences listed per kind before "... and N more"
REL_TOLERANCE = 1e-6


@lru_cache(maxsize=1)
def shared_simulation():
    """The seeded simulation the notebooks and their checks share: 20 virtual minutes, run once."""
    from workshop.simulation import Simulation

    sim = Simulation(seed=SEED, rate=SIM_RATE, scrape_interval=SIM_SCRAPE_INTERVAL, progress=False)
    return sim.run(SIMULATED)


def require_query(answer, variable: str) -> str:
    if not isinstance(answer, str):
        raise Incorrect(f"`{variable}` should be a PromQL query in a string, not a {type(answer).__name__}.")
    if not answer.strip():
        raise Incorrect(f"`{variable}` is an empty string: write a PromQL query.")
    return answer


def evaluate(expr: str, *, time=None, range_: tuple | None = None, sim=None) -> pd.DataFrame:
    """The result of ``expr`` on the shared simulation: instant at ``time`` or over ``range_``."""
    from workshop.client import QueryError

    sim = sim or shared_simulation()
    try:
        if range_ is not None:
            return sim.query_range(expr, *range_)
        return sim.query(expr, time=time)
    except QueryError as e:
        raise Incorrect(f"the query does not run: {e.caret()}") from None


def series_of(frame: pd.DataFrame) -> dict[tuple, dict[pd.Timestamp, float]]:
    """{sorted (label, value) pairs: {timestamp: value}} of a long result frame."""
    label_cols = [c for c in frame.columns if c not in ("timestamp", "value")]
    out: dict[tuple, dict] = {}
    for d in frame.to_dict("records"):  # not itertuples: it renames `__name__`
        key = tuple(sorted((k, d[k]) for k in label_cols if isinstance(d[k], str)))
        out.setdefault(key, {})[d["timestamp"]] = float(d["value"])
    return out


def fmt_labels(key: tuple) -> str:
    name = dict(key).get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in key if k != "__name__")
    return f"{name}{{{rest}}}"


def compare_queries(answer, reference: str, *, variable: str = "your query", time=None,
                    range_: tuple | None = None) -> str:  # fmt: skip
    """Raise :class:`Incorrect` with concrete differences unless ``answer`` gives ``reference``'s result."""
    expr = require_query(answer, variable)
    got = series_of(evaluate(expr, time=time, range_=range_))
    want = series_of(evaluate(reference, time=time, range_=range_))
    if not want:  # pragma: no cover - a broken reference is the author's bug, say so plainly
        raise RuntimeError(f"the reference query {reference!r} returns nothing on the simulation")
    if not got:
        example = fmt_labels(next(iter(want)))
        raise Incorrect(f"your query returns no series; expected {len(want)}, e.g. {example}.")
    got_names = {k for key in got for k, _ in key}
    want_names = {k for key in want for k, _ in key}
    if got_names != want_names:
        parts = []
        if extra := sorted(got_names - want_names):
            parts.append(f"labels that should not be there: {', '.join(extra)}")
        if missing := sorted(want_names - got_names):
            parts.append(f"missing labels: {', '.join(missing)}")
        hint = " (aggregate them away with sum by (...), or keep them with by)" if extra else ""
        raise Incorrect(f"the result's series have the wrong labels -- {'; '.join(parts)}{hint}.")
    problems = []
    missing_series = [k for k in want if k not in got]
    extra_series = [k for k in got if k not in want]
    if missing_series:
        problems.append(f"{len(missing_series)} series missing, e.g. " + _listing(missing_series))
    if extra_series:
        problems.append(f"{len(extra_series)} series too many, e.g. " + _listing(extra_series))
    wrong = []
    for key in want.keys() & got.keys():
        for ts, v in want[key].items():
            g = got[key].get(ts)
            if g is None or not _close(g, v):
                wrong.append((key, ts, g, v))
                break
    if wrong:
        key, ts, g, v = sorted(wrong, key=lambda w: w[0])[0]
        when = f" at {ts:%H:%M:%S}" if range_ is not None else ""
        shown = "no value" if g is None else f"{g:.6g}"
        problems.append(f"{len(wrong)} series have other values, e.g. {fmt_labels(key)}{when} is "
                        f"{shown} but should be {v:.6g}")  # fmt: skip
    if problems:
        raise Incorrect("; ".join(problems) + ".")
    return f"{len(want)} series, all values match."


def _listing(keys: list[tuple]) -> str:
    shown = ", ".join(fmt_labels(k) for k in sorted(keys)[:MAX_LISTED])
    return shown + (f" ... and {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else "")


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=1e-12)


def query_exercise(name: str, reference: str, hint: str, *, time=None) -> Exercise:
    """An exercise whose answer is a PromQL query giving ``reference``'s result on the simulation."""
    return Exercise(
        name,
        lambda answer: compare_queries(answer, reference, variable=name, time=time),
        hint=hint,
        solution=f"{name} = {reference!r}",
    )


LIVE_PROMETHEUS = "http://127.0.0.1:9090"  # where `workshop up` serves Prometheus (upstream's port)


def live_stack(url: str = LIVE_PROMETHEUS, timeout: float = 0.5):
    """A :class:`workshop.PrometheusClient` for a running live stack, or None when none answers."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=timeout) as r:
            if r.status != 200:
                return None
    except OSError:
        return None
    from workshop.client import PrometheusClient

    return PrometheusClient(url)


def outside_event_loop(fn, *args):
    """``fn(*args)``, in a helper thread when this thread runs an event loop (a Jupyter kernel does).

    Parts of the stack that drive a virtual clock of their own (promtool's rule tests, a replayed
    Alertmanager) cannot run inside the kernel's loop.
    """
    from stack.clock import outside_running_loop

    return outside_running_loop(fn, *args)


def run_promtool(*args: str) -> tuple[int, str]:
    """``workshop promtool ARGS...`` in-process: (exit code, what it printed)."""
    import contextlib
    import io

    from stack.promtool.main import main

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(list(args))
        return code, out.getvalue()

    return outside_event_loop(call)
