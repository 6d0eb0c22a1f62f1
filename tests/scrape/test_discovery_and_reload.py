import json

from stack.model import Labels
from tests.scrape.helpers import STALE, Exporter, job


def file_sd_config(pattern: str = "targets/*.json") -> str:
    return (
        "scrape_configs:\n  - job_name: fs\n    scrape_interval: 10s\n"
        f"    file_sd_configs: [{{files: ['{pattern}']}}]\n"
    )


def write_json(path, groups):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(groups))


def instances(sim, job_name=None):
    return sorted(t.labels.get("instance") for t in sim.targets(job_name))


def test_file_sd_picks_up_changes_on_the_virtual_clock(sims, tmp_path):
    f = tmp_path / "targets" / "a.json"
    write_json(f, [{"targets": ["a:1"], "labels": {"team": "x"}}])
    exporters = {"a:1": Exporter("m 1\n"), "b:1": Exporter("m 2\n")}
    s = sims(file_sd_config(), exporters, base_dir=str(tmp_path))
    assert instances(s) == ["a:1"]
    t = s.targets()[0]
    assert t.labels == Labels({"instance": "a:1", "job": "fs", "team": "x"})
    assert t.discovered_labels.get("__meta_filepath") == str(f)
    assert t.discovered_labels.get("__scrape_interval__") == "10s"
    s.advance(20)
    write_json(f, [{"targets": ["b:1"], "labels": {"team": "x"}}])
    s.advance(6)  # one poll period
    assert instances(s) == ["b:1"]
    s.advance(40)  # the removed target's series go stale one interval later
    assert s.values("m", instance="a:1")[-1] == STALE
    assert s.values("up", instance="a:1")[-1] == STALE
    assert STALE not in s.values("m", instance="b:1")


def test_file_sd_new_yaml_file_and_deleted_file(sims, tmp_path):
    s = sims(file_sd_config("sd/*.yml"), {}, base_dir=str(tmp_path))
    assert instances(s) == []
    (tmp_path / "sd").mkdir()
    (tmp_path / "sd" / "one.yml").write_text("- targets: ['x:1', 'y:1']\n")
    s.advance(6)
    assert instances(s) == ["x:1", "y:1"]
    (tmp_path / "sd" / "one.yml").unlink()
    s.advance(6)
    assert instances(s) == []


def test_bad_target_file_keeps_the_last_good_targets(sims, tmp_path):
    f = tmp_path / "targets" / "a.json"
    write_json(f, [{"targets": ["a:1"]}])
    s = sims(file_sd_config(), {}, base_dir=str(tmp_path))
    f.write_text("[{not json")
    s.advance(6)
    assert instances(s) == ["a:1"]
    assert s.metrics.sd_file_read_errors._value.get() == 1


def test_relabel_dropped_targets_are_listed_with_discovered_labels(sims):
    cfg = job(
        targets=("keep:1", "drop:1"),
        extra="relabel_configs: [{source_labels: [__address__], regex: 'drop:.*', action: drop}]",
    )
    s = sims(cfg, {})
    assert instances(s) == ["keep:1"]
    (dropped,) = s.manager.dropped_targets()
    assert dropped.scrape_pool == "app"
    assert dropped.discovered_labels.get("__address__") == "drop:1"
    assert dropped.discovered_labels.get("job") == "app"


def test_target_label_defaults_and_overrides(sims):
    cfg = (
        "scrape_configs:\n  - job_name: j\n    metrics_path: /probe\n    params: {module: [m1]}\n"
        "    static_configs: [{targets: ['h:1'], labels: {job: other, instance: nice-name}}]\n"
        "    relabel_configs: [{target_label: __param_target, replacement: 'example.org'}]\n"
    )
    s = sims(cfg, {})
    (t,) = s.targets()
    assert t.labels == Labels({"job": "other", "instance": "nice-name"})
    assert t.scrape_url == "http://h:1/probe?module=m1&target=example.org"
    assert t.discovered_labels.get("__param_module") == "m1"
    assert t.scrape_interval == "1m" and t.scrape_timeout == "10s"
    assert t.health == "unknown"


def test_relabeling_to_a_url_address_does_not_create_the_target(sims):
    cfg = job(
        targets=("h:1",), extra="relabel_configs: [{target_label: __address__, replacement: 'http://x/y'}]"
    )
    s = sims(cfg, {})
    assert s.targets() == []


def test_duplicate_targets_are_scraped_once(sims):
    s = sims(job(targets=("a:1", "a:1")), {"a:1": Exporter("x 1\n")})
    s.advance(15)
    assert len(s.targets()) == 1 and len(s.exporters["a:1"].requests) == 1


def test_reload_keeps_unchanged_jobs_and_restarts_changed_ones(sims):
    exporters = {"a:1": Exporter("x 1\n"), "b:1": Exporter("x 2\n")}
    base = job("one", ("a:1",)) + job("two", ("b:1",)).replace("scrape_configs:\n", "")
    s = sims(base, exporters)
    s.advance(15)
    loop_one = next(iter(s.manager.pools["one"].loops.values()))
    loop_two = next(iter(s.manager.pools["two"].loops.values()))
    s.apply(
        base.replace("job_name: two\n    scrape_interval: 15s", "job_name: two\n    scrape_interval: 30s")
    )
    assert next(iter(s.manager.pools["one"].loops.values())) is loop_one
    assert next(iter(s.manager.pools["two"].loops.values())) is not loop_two
    s.advance(60)
    assert STALE not in s.values("x", job="two")  # same target, new loop: no spurious markers
    assert STALE not in s.values("x", job="one")


def test_removed_job_goes_stale_two_ticks_later_at_the_first_tick_after_removal(sims):
    exporters = {"a:1": Exporter("x 1\n"), "b:1": Exporter("x 2\n")}
    base = job("one", ("a:1",)) + job("two", ("b:1",)).replace("scrape_configs:\n", "")
    s = sims(base, exporters)
    s.advance(20)
    last = s.times("up", job="two")[-1]
    s.apply(job("one", ("a:1",)))
    s.advance(15 + 15 + 1.5 + 0.1)
    assert s.values("x", job="two")[-1] == STALE
    for name in (
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_series_added",
        "scrape_samples_post_metric_relabeling",
    ):
        assert s.values(name, job="two")[-1] == STALE
    assert s.times("up", job="two")[-1] == last + 15_000
    assert set(s.manager.pools) == {"one"}


def test_shutdown_writes_no_stale_markers(sims):
    s = sims(job(), {"a:1": Exporter("x 1\n")})
    s.advance(15)
    s.clock.run(s.manager.stop())
    s.advance(60)
    assert s.values("x") == [1.0]
