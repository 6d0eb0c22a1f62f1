import os
from pathlib import Path

import pytest

import stack
from stack.config.prometheus import load_config, parse_config_text
from stack.config.yamlutil import ConfigError

DEFAULT_YML = Path(stack.__file__).parent / "prometheus.yml"


def cfg(text: str, **kw):
    return parse_config_text(text, filename="prometheus.yml", **kw)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        cfg(text)
    return str(e.value)


def test_empty_config_has_upstream_global_defaults():
    g = cfg("").global_
    assert (g.scrape_interval_ms, g.scrape_timeout_ms, g.evaluation_interval_ms) == (60_000, 10_000, 60_000)
    assert g.external_labels == () and g.rule_query_offset_ms == 0


@pytest.mark.parametrize(
    "global_,job_,interval,timeout",
    [
        ("", "scrape_interval: 5s", 5_000, 5_000),  # timeout defaults to min(10s, interval)
        ("", "scrape_interval: 30s", 30_000, 10_000),
        ("scrape_interval: 3s", "", 3_000, 3_000),
        ("scrape_timeout: 4s", "scrape_interval: 20s", 20_000, 4_000),
        ("scrape_timeout: 4s", "scrape_interval: 2s", 2_000, 2_000),
        ("", "scrape_interval: 1m\n    scrape_timeout: 1m", 60_000, 60_000),
    ],
)
def test_scrape_timeout_defaults(global_, job_, interval, timeout):
    text = f"global: {{{global_}}}\nscrape_configs:\n  - job_name: a\n    {job_}\n"
    (job,) = cfg(text).scrape_configs
    assert (job.scrape_interval_ms, job.scrape_timeout_ms) == (interval, timeout)


def test_job_defaults_are_upstream_defaults():
    (job,) = cfg("scrape_configs:\n  - job_name: a\n").scrape_configs
    assert (job.metrics_path, job.scheme, job.honor_labels, job.honor_timestamps) == (
        "/metrics",
        "http",
        False,
        True,
    )
    assert (job.sample_limit, job.body_size_limit, job.target_limit, job.enable_compression) == (
        0,
        0,
        0,
        True,
    )
    assert job.accept_header == (
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
        "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
        "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    )


def test_global_limits_are_inherited_and_overridable():
    text = (
        "global: {sample_limit: 100, body_size_limit: 1MB}\n"
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n    sample_limit: 5\n"
    )
    a, b = cfg(text).scrape_configs
    assert (a.sample_limit, a.body_size_limit, b.sample_limit, b.body_size_limit) == (
        100,
        1 << 20,
        5,
        1 << 20,
    )


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
            'prometheus.yml:4: scrape timeout greater than scrape interval for scrape config '
            'with job name "a"',
        ),
        (
            "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
            "prometheus.yml:3: global scrape timeout greater than scrape interval",
        ),
        (
            "scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n",
            'prometheus.yml:4: found multiple scrape configs with job name "a"',
        ),
        (
            "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://h:1/metrics']\n",
            'prometheus.yml:4: "http://h:1/metrics" is not a valid hostname',
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n",
            "prometheus.yml:3: field scrape_intervall not found in type scrape_config",
        ),
        ("globl: {}\n", "prometheus.yml:1: field globl not found in type config"),
        (
            "global:\n  scrape_interval: 5 minutes\n",
            'prometheus.yml:2: not a valid duration string: "5 minutes"',
        ),
        (
            "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: []\n",
            "prometheus.yml:3: kubernetes_sd_configs is not supported",
        ),
        ("scrape_configs:\n  - scrape_interval: 5s\n", "job_name is empty"),
        (
            "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [x.txt]}]\n",
            'path name "x.txt" is not valid',
        ),
        (
            "scrape_configs:\n  - job_name: a\n"
            "    static_configs: [{targets: [h:1], labels: {bad-name: x}}]\n",
            '"bad-name" is not a valid label name',
        ),
        ("scrape_configs:\n  - job_name: a\n    scheme: ftp\n", 'unknown scrape scheme "ftp"'),
        (
            "scrape_configs:\n  - job_name: a\n    honor_labels: yes please\n",
            "honor_labels must be true or false",
        ),
        (
            "alerting:\n  alertmanagers:\n    - static_configs: [{targets: [h:1]}]\n      api_versoin: v2\n",
            "prometheus.yml:4: field api_versoin not found in type alertmanager_config",
        ),
        (
            "remote_write:\n  - url: http://x\n    queue_config: {capacityy: 1}\n",
            "field capacityy not found in type queue_config",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_protocols: [Carrier pigeon]\n",
            "unknown scrape protocol",
        ),
    ],
)
def test_config_errors_name_file_and_line(text, message):
    assert message in error_of(text)


def test_url_targets_are_allowed_when_relabeling_can_fix_them():
    text = (
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://h:1/x']}]\n"
        "    relabel_configs: [{target_label: __address__, replacement: 'h:1'}]\n"
    )
    assert cfg(text).scrape_configs[0].static_configs[0].targets == ("http://h:1/x",)


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "p.yml").write_text(
        "rule_files: [rules/*.yml]\nscrape_configs:\n  - job_name: a\n"
        "    file_sd_configs: [{files: [sd/*.json], refresh_interval: 1m}]\n"
    )
    c = load_config(str(tmp_path / "p.yml"))
    assert c.rule_files == (os.path.join(str(tmp_path), "rules/*.yml"),)
    fsd = c.scrape_configs[0].file_sd_configs[0]
    assert fsd.files == (os.path.join(str(tmp_path), "sd/*.json"),) and fsd.refresh_interval_ms == 60_000


def test_other_sections_are_typed_for_their_owners():
    text = (
        "global: {external_labels: {cluster: lab}}\n"
        "alerting:\n  alert_relabel_configs: [{action: labeldrop, regex: tmp}]\n"
        "  alertmanagers:\n    - static_configs: [{targets: ['127.0.0.1:9093']}]\n      timeout: 5s\n"
        "remote_write:\n  - url: http://rw/api/v1/write\n    write_relabel_configs: [{source_labels: [a], "
        "regex: x, action: drop}]\n"
        "remote_read:\n  - url: http://rr/api/v1/read\n    read_recent: true\n"
    )
    c = cfg(text)
    assert c.global_.external_labels == (("cluster", "lab"),)
    (am,) = c.alerting.alertmanagers
    assert (
        am.static_configs[0].targets == ("127.0.0.1:9093",)
        and am.timeout_ms == 5_000
        and am.api_version == "v2"
    )
    assert c.alerting.alert_relabel_configs[0].action == "labeldrop"
    assert c.remote_write[0].url == "http://rw/api/v1/write" and c.remote_write[0].remote_timeout_ms == 30_000
    assert c.remote_read[0].read_recent is True


def test_basic_auth_becomes_an_authorization_header():
    text = "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p}\n"
    assert cfg(text).scrape_configs[0].http.auth_headers() == {"Authorization": "Basic dTpw"}


def test_the_shipped_default_config_loads():
    c = load_config(str(DEFAULT_YML))
    jobs = {j.job_name: j for j in c.scrape_configs}
    assert set(jobs) == {"prometheus", "toyservice", "pushgateway", "node"}
    # Every job reads its addresses from the environment's target file and keeps its own group.
    for name, job in jobs.items():
        (sd,) = job.file_sd_configs
        assert [f.rsplit("/", 1)[-1] for f in sd.files] == ["local.yml"]
        assert [(r.source_labels, r.regex, r.action) for r in job.relabel_configs] == [
            (("job",), name, "keep")
        ]
    assert jobs["pushgateway"].honor_labels is True
    assert all(j.scrape_interval_ms == 5_000 for j in jobs.values())


def test_configs_compare_equal_when_unchanged():
    text = "scrape_configs:\n  - job_name: a\n    relabel_configs: [{source_labels: [a], target_label: b}]\n"
    assert cfg(text).scrape_configs == cfg(text).scrape_configs
