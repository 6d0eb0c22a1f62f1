"""Chapter 4, dashboards: a RED dashboard is judged by the data its panels show on the simulation.

The participant's dashboard (YAML, Grafana's model) is fetched for the last 15 simulated minutes,
exactly as the notebook draws it. It needs a request-rate panel (unit ``reqps``) whose series add up
to the service's request rate, an error-ratio panel (``percentunit``) that stays within 0-1 and shows
the outages, and a latency panel (``s``) with plausible request durations.
"""

from __future__ import annotations

import pandas as pd

from stack.config import ConfigError
from workshop.checks._common import evaluate, shared_simulation
from workshop.dashboards import Dashboard, fetch
from workshop.exercises import Exercise, Incorrect

WINDOW = "now-15m"
RATE_TOLERANCE = 0.3  # the panel may use another rate window than the reference's 1m
OUTAGE_ERROR_RATIO = 0.05  # during the outages every instance's error ratio exceeds this
NORMAL_ERROR_RATIO = 0.2  # outside them it is 1-3%: a typical value above this is not an error ratio

REFERENCE = """\
title: My toy service (RED)
rows:
  - title: Rate, Errors, Duration
    panels:
      - title: Requests per second
        unit: reqps
        width: 8
        targets: sum by (instance) (rate(http_requests_total[$__rate_interval]))
      - title: Error ratio
        unit: percentunit
        width: 8
        targets: >-
          sum by (instance) (rate(http_requests_total{status=~"5.."}[$__rate_interval]))
          / sum by (instance) (rate(http_requests_total[$__rate_interval]))
      - title: 99th percentile latency
        unit: s
        width: 8
        targets: >-
          histogram_quantile(0.99,
            sum by (le, instance) (rate(http_request_duration_seconds_bucket[$__rate_interval])))
"""


def _panel_frames(data, unit: str, what: str) -> tuple[str, pd.DataFrame]:
    panels = [p for p in data.panels if p.panel.unit == unit]
    if not panels:
        raise Incorrect(f"no panel with unit `{unit}`: add one for {what}.")
    p = panels[0]
    for r in p.results:
        if r.error:
            raise Incorrect(f"panel {p.panel.title!r}: the query `{r.expr}` fails: {r.error}")
    frames = [r.frame for r in p.results if r.frame is not None and not r.frame.empty]
    if not frames:
        raise Incorrect(f"panel {p.panel.title!r} shows no data over the last 15 minutes.")
    return p.panel.title, pd.concat(frames)


def check_red(text) -> str:
    if not isinstance(text, str):
        raise Incorrect(f"the dashboard should be YAML text in a string, not a {type(text).__name__}.")
    try:
        dashboard = Dashboard.from_yaml("dashboard.yml", text)
    except (ConfigError, ValueError) as e:
        raise Incorrect(f"the dashboard is not valid: {e}") from None
    sim = shared_simulation()
    data = fetch(dashboard, sim, WINDOW)
    title, rate = _panel_frames(data, "reqps", "the request Rate")
    last = rate[rate["timestamp"] == rate["timestamp"].max()]["value"].sum()
    (want,) = evaluate("sum(rate(http_requests_total[1m]))")["value"]
    if abs(last - want) > RATE_TOLERANCE * want:
        raise Incorrect(f"panel {title!r} adds up to {last:.3g} requests/s at the end; the service answers "
                        f"{want:.3g}/s. Is it a rate() of http_requests_total, of every instance?")
    title, errors = _panel_frames(data, "percentunit", "the Error ratio")
    values = errors["value"].dropna()
    if values.min() < 0 or values.max() > 1:
        raise Incorrect(f"panel {title!r} shows values outside 0-1 ({values.min():.3g}..{values.max():.3g}): "
                        "divide the rate of 5xx responses by the rate of all responses.")  # fmt: skip
    if values.median() > NORMAL_ERROR_RATIO:
        raise Incorrect(f"panel {title!r} typically shows {values.median():.3g}, but only 1-3% of requests "
                        "fail outside outages: count only status=~\"5..\" in the numerator.")  # fmt: skip
    if values.max() < OUTAGE_ERROR_RATIO:
        raise Incorrect(f"panel {title!r} never exceeds {values.max():.3g}, but the outages push the error "
                        f"ratio above {OUTAGE_ERROR_RATIO}: select status=~\"5..\" in the numerator.")
    title, latency = _panel_frames(data, "s", "the Duration (a latency quantile)")
    median = latency["value"].dropna().median()
    if not 0.005 < median < 2:
        raise Incorrect(f"panel {title!r} shows a typical value of {median:.3g} s; requests take 0.03-0.5 s: "
                        "histogram_quantile(0.99, sum by (le, ...) (rate(..._bucket[...]))).")
    return f"{len(dashboard.panels)} panels; rate, errors and duration all show the service's data."


q1 = Exercise(
    "q1", check_red, variable="red_dashboard",
    hint="Three panels: unit reqps with sum(rate(http_requests_total[$__rate_interval])), unit percentunit "
         "with the 5xx ratio, unit s with histogram_quantile over the _bucket rates (keep le).",
    solution=f'red_dashboard = """\\\n{REFERENCE}"""',
)  # fmt: skip
