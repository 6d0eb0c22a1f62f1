"""The textfile collector: *.prom files served with the host metrics; bad files skipped and flagged."""

from __future__ import annotations

import os

from stack.exposition import collect_families, parse_text
from stack.node_exporter import NodeExporter, build_collectors
from stack.node_exporter.textfile import TextfileCollector


def families(directory) -> dict:
    return {
        f.name: f
        for f in collect_families(
            build_collectors(["textfile"], options={"textfile": {"directory": str(directory)}})
        )
    }


def test_good_files_are_served_with_their_mtime(tmp_path):
    (tmp_path / "backup.prom").write_text(
        '# HELP backup_ok Did it work.\n# TYPE backup_ok gauge\nbackup_ok{db="a"} 1\n'
    )
    (tmp_path / "count.prom").write_text("# TYPE runs counter\nruns 5\n")
    (tmp_path / "ignored.txt").write_text("not_a_prom_file 1\n")
    os.utime(tmp_path / "backup.prom", (1_700_000_000, 1_700_000_000))
    fams = families(tmp_path)
    assert fams["backup_ok"].help == "Did it work."
    assert fams["backup_ok"].metrics[0].labels == {"db": "a"}
    assert (fams["runs"].type, fams["runs"].metrics[0].value) == ("counter", 5.0)
    assert fams["runs"].help == f"Metric read from {tmp_path / 'count.prom'}"
    mtimes = {m.labels["file"]: m.value for m in fams["node_textfile_mtime_seconds"].metrics}
    assert mtimes[str(tmp_path / "backup.prom")] == 1_700_000_000
    assert set(mtimes) == {str(tmp_path / "backup.prom"), str(tmp_path / "count.prom")}
    assert fams["node_textfile_scrape_error"].metrics[0].value == 0
    assert "not_a_prom_file" not in fams


def test_a_bad_file_sets_scrape_error_and_the_good_ones_are_still_served(tmp_path, caplog):
    (tmp_path / "good.prom").write_text("good 1\n")
    (tmp_path / "bad.prom").write_text("bad metric here\n")
    (tmp_path / "stamped.prom").write_text("stamped 1 1700000000000\n")
    fams = families(tmp_path)
    assert fams["node_textfile_scrape_error"].metrics[0].value == 1
    assert fams["good"].metrics[0].value == 1
    assert "bad" not in fams and "stamped" not in fams
    assert [m.labels["file"] for m in fams["node_textfile_mtime_seconds"].metrics] == [
        str(tmp_path / "good.prom")
    ]
    assert f"{tmp_path / 'bad.prom'}: text format parsing error in line 1" in caplog.text
    assert "timestamps" in caplog.text


def test_the_same_family_in_two_files_is_merged(tmp_path):
    (tmp_path / "a.prom").write_text('# TYPE jobs gauge\njobs{name="a"} 1\n')
    (tmp_path / "b.prom").write_text('# TYPE jobs gauge\njobs{name="b"} 2\n')
    text = NodeExporter(
        collector=build_collectors(["textfile"], options={"textfile": {"directory": str(tmp_path)}})
    ).metrics_text()
    assert text.count("# TYPE jobs gauge") == 1
    assert {m.labels["name"]: m.value for m in {f.name: f for f in parse_text(text)}["jobs"].metrics} == {
        "a": 1,
        "b": 2,
    }


def test_no_directory_means_only_the_error_gauge():
    names = [m.name for m in TextfileCollector(directory="").update()]
    assert names == ["node_textfile_scrape_error"]
