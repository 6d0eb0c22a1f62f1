import pytest

from stack.model import Labels
from tests.scrape.helpers import STALE, Exporter, job

DEFAULT_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def test_synthetic_series_carry_target_labels_and_counts(sims):
    e = Exporter("# TYPE a gauge\na 1\nb 2\ngo_gc_x 3\n")
    s = sims(
        job(extra="metric_relabel_configs: [{source_labels: [__name__], regex: 'go_gc_.*', action: drop}]"),
        {"a:1": e},
    )
    s.advance(16)
    assert set(s.series("up")) == {Labels({"__name__": "up", "job": "app", "instance": "a:1"})}
    assert s.values("up") == [1.0]
    assert s.values("scrape_samples_scraped") == [3.0]
    assert s.values("scrape_samples_post_metric_relabeling") == [2.0]
    assert s.values("scrape_series_added") == [2.0]
    assert s.values("scrape_duration_seconds") == [0.0]  # virtual time: the scrape takes no time
    assert s.series("go_gc_x") == {}
    assert s.times("a") == s.times("up")


def test_worked_example_of_the_spec(sims):
    """spec §9: a series vanishing, a failed scrape, and recovery, 15 s apart."""
    e = Exporter("a 1\nb 2\n")
    s = sims(job(), {"a:1": e})
    s.advance(15)  # first scrape somewhere in the first interval
    e.body = "a 1\n"
    s.advance(15)
    e.status = 0
    del s.exporters["a:1"]  # connection refused from now on
    s.advance(15)
    s.exporters["a:1"] = e
    e.status, e.body = 200, "a 3\nb 4\n"
    s.advance(15)
    assert s.values("a") == [1.0, 1.0, STALE, 3.0]
    assert s.values("b") == [2.0, STALE, 4.0]
    assert s.values("up") == [1.0, 1.0, 0.0, 1.0]
    assert s.values("scrape_samples_scraped") == [2.0, 1.0, 0.0, 2.0]
    assert s.values("scrape_series_added") == [2.0, 0.0, 0.0, 1.0]
    t = s.times("up")
    assert [t2 - t1 for t1, t2 in zip(t, t[1:], strict=False)] == [15_000] * 3
    assert s.times("b")[1] == t[1] and s.times("a")[2] == t[2]
    assert s.targets()[0].health == "up" and s.targets()[0].last_error == ""


def test_failed_scrape_keeps_error_on_target_and_other_targets_untouched(sims):
    good, bad = Exporter("x 1\n"), Exporter("x 1\n")
    s = sims(job(targets=("good:1", "bad:1")), {"good:1": good, "bad:1": bad})
    s.advance(15)
    bad.status = 500
    s.advance(15)
    by_instance = {t.labels.get("instance"): t for t in s.targets()}
    assert by_instance["bad:1"].health == "down"
    assert by_instance["bad:1"].last_error == "server returned HTTP status 500 Internal Server Error"
    assert by_instance["good:1"].health == "up" and by_instance["good:1"].last_error == ""
    assert s.values("x", instance="good:1") == [1.0, 1.0]
    assert s.values("x", instance="bad:1") == [1.0, STALE]  # what was stored stays
    assert s.values("up", instance="bad:1") == [1.0, 0.0]


def test_refused_connection_reads_like_upstream(sims):
    s = sims(job(targets=("nobody:9",)), {})
    s.advance(15)
    t = s.targets()[0]
    assert t.health == "down"
    assert t.last_error == 'Get "http://nobody:9/metrics": dial tcp nobody:9: connect: connection refused'
    assert s.values("up") == [0.0]


def test_timeout_marks_target_down_with_deadline_error(sims):
    slow = Exporter("x 1\n", delay=30)
    s = sims(job(extra="scrape_timeout: 2s"), {"a:1": slow})
    s.advance(15)
    assert s.targets()[0].last_error == "context deadline exceeded"
    assert s.values("up") == [0.0]
    assert s.series("x") == {}


def test_garbage_body_fails_with_parse_error_and_line(sims):
    e = Exporter("a 1\nb 2\n")
    s = sims(job(), {"a:1": e})
    s.advance(15)
    e.body = "a 1\n<html>oops</html>\n"
    s.advance(15)
    t = s.targets()[0]
    assert t.health == "down"
    assert t.last_error.startswith("text format parsing error in line 2:")
    assert s.values("up") == [1.0, 0.0]
    assert s.values("b") == [2.0, STALE]
    assert s.values("a")[0] == 1.0  # stored data is never lost


@pytest.mark.parametrize(
    "content_type,fallback,up,error",
    [
        ("", "", 0.0, "non-compliant scrape target sending blank Content-Type"),
        ("text/html", "", 0.0, 'received unsupported Content-Type "text/html"'),
        ("", "PrometheusText0.0.4", 1.0, ""),
        ("application/openmetrics-text; version=1.0.0", "", 1.0, ""),
    ],
)
def test_content_type_decides_the_parser(sims, content_type, fallback, up, error):
    body = "x 1\n# EOF\n" if "openmetrics" in content_type else "x 1\n"
    extra = f"fallback_scrape_protocol: {fallback}" if fallback else ""
    s = sims(job(extra=extra), {"a:1": Exporter(body, content_type=content_type)})
    s.advance(15)
    assert s.values("up") == [up]
    assert s.targets()[0].last_error.startswith(error)


def test_empty_body_is_a_successful_scrape_that_stales_everything(sims):
    e = Exporter("a 1\n")
    s = sims(job(), {"a:1": e})
    s.advance(15)
    e.body = ""
    s.advance(15)
    assert s.values("up") == [1.0, 1.0]
    assert s.values("a") == [1.0, STALE]


@pytest.mark.parametrize(
    "honor,expected",
    [
        (
            False,
            [
                {
                    "__name__": "x",
                    "env": "lab",
                    "exported_job": "batch",
                    "instance": "h1:9100",
                    "job": "node",
                },
                {"__name__": "y", "env": "lab", "instance": "h1:9100", "job": "node"},
                {
                    "__name__": "z",
                    "env": "lab",
                    "exported_exported_job": "b",
                    "exported_job": "c",
                    "instance": "h1:9100",
                    "job": "node",
                },
            ],
        ),
        (
            True,
            [
                {"__name__": "x", "env": "lab", "instance": "h1:9100", "job": "batch"},
                {"__name__": "y", "env": "lab", "job": "node"},
                {"__name__": "z", "env": "lab", "exported_job": "c", "instance": "h1:9100", "job": "b"},
            ],
        ),
    ],
)
def test_honor_labels_table_of_the_spec(sims, honor, expected):
    body = 'x{job="batch"} 1\ny{instance=""} 2\nz{job="b",exported_job="c"} 3\n'
    cfg = (
        "scrape_configs:\n  - job_name: node\n    honor_labels: " + str(honor).lower() + "\n"
        "    static_configs: [{targets: ['h1:9100'], labels: {env: lab}}]\n"
    )
    s = sims(cfg, {"h1:9100": Exporter(body)})
    s.advance(61)
    got = sorted(
        (dict(ls) for ls in s.head.series([]) if ls.name in ("x", "y", "z")), key=lambda d: d["__name__"]
    )
    assert got == expected


@pytest.mark.parametrize("honor,uses_exposed", [(True, True), (False, False)])
def test_honor_timestamps(sims, honor, uses_exposed):
    s = sims(job(extra=f"honor_timestamps: {str(honor).lower()}"), {"a:1": Exporter("x 5 999000\n")})
    s.advance(15)
    t = s.times("x")
    assert (t == [999000]) is uses_exposed
    assert (t == s.times("up")) is not uses_exposed


def test_series_with_explicit_timestamps_get_no_stale_markers(sims):
    e = Exporter("x 5 999000\ny 1\n")
    s = sims(job(), {"a:1": e})
    s.advance(15)
    e.body = ""
    s.advance(15)
    assert s.values("x") == [5.0]
    assert s.values("y") == [1.0, STALE]


@pytest.mark.parametrize(
    "extra,body,error",
    [
        ("sample_limit: 2", "a 1\nb 2\nc 3\n", "sample limit exceeded"),
        (
            "label_limit: 3",
            'a{x="1",y="2"} 1\n',
            "label_limit exceeded (metric: a, number of labels: 5, limit: 3)",
        ),
        ("label_name_length_limit: 5", 'a{longname="1"} 1\n', "label_name_length_limit exceeded"),
        ("label_value_length_limit: 3", 'a{x="toolong"} 1\n', "label_value_length_limit exceeded"),
        ("body_size_limit: 10", "a 1\nb 2\nc 3\n", "body size limit exceeded"),
        ("body_size_limit: 2KB", "a 1\n" * 1000, "body size limit exceeded"),
    ],
)
def test_limits_fail_the_whole_scrape(sims, extra, body, error):
    s = sims(job(extra=extra), {"a:1": Exporter(body)})
    s.advance(15)
    t = s.targets()[0]
    assert t.health == "down" and t.last_error.startswith(error)
    assert s.values("up") == [0.0]
    assert s.series("a") == {} and s.series("b") == {}


def test_sample_limit_still_reports_full_counts(sims):
    s = sims(job(extra="sample_limit: 2"), {"a:1": Exporter("a 1\nb 2\nc 3\n")})
    s.advance(15)
    assert s.values("scrape_samples_scraped") == [3.0]
    assert s.values("scrape_samples_post_metric_relabeling") == [3.0]
    assert s.metrics.scrapes_sample_limit._value.get() == 1


def test_duplicate_series_in_one_scrape_keeps_the_first(sims):
    s = sims(job(), {"a:1": Exporter('x{a="1"} 1\nx{a="1"} 2\n')})
    s.advance(15)
    assert s.values("x") == [1.0]
    assert s.values("up") == [1.0]


def test_relabeling_away_the_metric_name_fails_the_scrape(sims):
    s = sims(
        job(extra="metric_relabel_configs: [{action: labeldrop, regex: __name__}]"),
        {"a:1": Exporter("x 1\n")},
    )
    s.advance(15)
    assert s.targets()[0].last_error == "missing metric name (__name__ label)"


def test_request_headers_follow_upstream(sims):
    e = Exporter("x 1\n")
    s = sims(job(extra="scrape_timeout: 7s\nparams: {module: [http_2xx, other]}"), {"a:1": e})
    s.advance(15)
    path, headers = e.requests[0]
    assert path == "/metrics?module=http_2xx&module=other"
    assert headers["Accept"] == DEFAULT_ACCEPT
    assert headers["Accept-Encoding"] == "gzip"
    assert headers["X-Prometheus-Scrape-Timeout-Seconds"] == "7"
    assert headers["User-Agent"].startswith("Prometheus/")


def test_scrape_offsets_are_deterministic_and_spread(sims):
    cfg = job(targets=tuple(f"h{i}:80" for i in range(8)), interval="60s")
    runs = []
    for _ in range(2):
        s = sims(cfg, {f"h{i}:80": Exporter("x 1\n") for i in range(8)})
        s.advance(60)
        runs.append({ls.get("instance"): pts[0][0] for ls, pts in s.series("up").items()})
    assert runs[0] == runs[1]
    assert len(set(runs[0].values())) == 8


def test_scrape_timestamps_are_exactly_one_interval_apart(sims):
    s = sims(job(interval="5s"), {"a:1": Exporter("x 1\n")})
    s.advance(60)
    t = s.times("x")
    assert len(t) == 12 and {b - a for a, b in zip(t, t[1:], strict=False)} == {5000}


def test_target_limit_fails_every_target_of_the_pool(sims):
    s = sims(
        job(targets=("a:1", "b:1", "c:1"), extra="target_limit: 2"),
        {k: Exporter("x 1\n") for k in ("a:1", "b:1", "c:1")},
    )
    s.advance(15)
    errors = {t.last_error for t in s.targets()}
    assert errors == {"target_limit exceeded (number of targets: 3, limit: 2)"}
    assert s.series("x") == {}


def test_openmetrics_created_series_and_exemplars(sims):
    body = '# TYPE c counter\nc_total 3 # {trace_id="t"} 1\nc_created 1000.5\n# EOF\n'
    s = sims(job(), {"a:1": Exporter(body, content_type="application/openmetrics-text; version=1.0.0")})
    s.advance(15)
    assert s.values("c_total") == [3.0]
    assert s.values("c_created") == [1000.5]
    assert s.targets()[0].metadata == {"c": {"type": "counter"}}


def test_stale_marker_hides_the_series_from_queries_at_once(sims):
    from stack.promql import Engine

    e = Exporter("a 1\nb 2\n")
    s = sims(job(), {"a:1": e})
    s.advance(15)
    e.body = "a 1\n"
    s.advance(15)
    t_stale = s.times("b")[1]
    engine = Engine(s.head)
    assert [x.v for x in engine.instant("b", t_stale - 1).samples] == [2.0]
    assert engine.instant("b", t_stale).samples == []  # not 5 minutes later: at once
    assert [x.v for x in engine.instant("a", t_stale).samples] == [1.0]


def test_extra_scrape_metrics(sims):
    s = sims(
        job(extra="extra_scrape_metrics: true\nsample_limit: 50\nscrape_timeout: 3s"),
        {"a:1": Exporter("x 1\n")},
    )
    s.advance(15)
    assert s.values("scrape_timeout_seconds") == [3.0]
    assert s.values("scrape_sample_limit") == [50.0]
    assert s.values("scrape_body_size_bytes") == [4.0]
