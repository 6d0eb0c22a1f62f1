"""/federate exports the newest sample of each matched series, with external labels, as text."""

from __future__ import annotations

import contextlib

from prometheus_client.parser import text_string_to_metric_families

from stack.clock import VirtualClock
from stack.model import STALE_NAN, Labels
from tests.web.conftest import T0, T0_MS, run_server

EXTERNAL = "global:\n  external_labels: {site: lab, job: ignored}\n"


@contextlib.contextmanager
def _server(now: float = T0 + 10):
    """The real server with external labels, whose clock stands still at ``now``."""
    clock = VirtualClock(start=now)
    try:
        with run_server(EXTERNAL, clock=clock) as s:
            yield s
    finally:
        clock.close()


def _federate(*selectors, now: float = T0 + 10, extra=()):
    with _server(now) as s:
        if extra:
            app = s.server.tsdb.appender()
            for labels, t, v in extra:
                app.append(labels, t, v)
            app.commit()
        return s.get("/federate", [("match[]", sel) for sel in selectors])


def test_federate_returns_the_latest_sample_with_its_timestamp_and_external_labels():
    status, headers, body = _federate('up{job="node"}', "temperature_celsius")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert body.decode() == (
        "# TYPE temperature_celsius untyped\n"
        f'temperature_celsius{{instance="localhost:9100",job="node",sensor="cpu",site="lab"}} 40.0 {T0_MS}\n'
        "# TYPE up untyped\n"
        f'up{{instance="localhost:9100",job="node",site="lab"}} 1.0 {T0_MS}\n')


def test_federate_output_parses_as_the_text_format():
    _, _, body = _federate('{__name__=~".+"}')
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert set(families) == {"http_requests_total", "temperature_celsius", "up"}
    assert len(families["up"].samples) == 4


def test_federate_leaves_out_series_older_than_the_lookback_and_stale_ones():
    extra = [(Labels({"__name__": "fresh", "job": "x"}), T0_MS + 300_000, 1.0),
             (Labels({"__name__": "ended", "job": "x"}), T0_MS + 290_000, 1.0),
             (Labels({"__name__": "ended", "job": "x"}), T0_MS + 300_000, STALE_NAN)]
    _, _, body = _federate('{job=~".+"}', now=T0 + 301, extra=extra)
    assert body.decode() == f'# TYPE fresh untyped\nfresh{{job="x",site="lab"}} 1.0 {T0_MS + 300_000}\n'


def test_federate_without_match_is_empty_and_a_bad_selector_is_400():
    assert _federate()[2] == b""
    status, _, body = _federate("sum(up)")
    assert status == 400 and b"match[]" in body
