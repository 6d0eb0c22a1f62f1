import subprocess
from pathlib import Path

import pytest

import stack
from stack.promtool.main import main as promtool
from tests.support import require_binary

DEFAULT_YML = str(Path(stack.__file__).parent / "prometheus.yml")
BAD = "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [h:1]\n        lables: {}\n"


def test_check_config_success_output(capsys):
    assert promtool(["check", "config", DEFAULT_YML]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"Checking {DEFAULT_YML}\n  SUCCESS: 1 rule files found\n"
        f" SUCCESS: {DEFAULT_YML} is valid prometheus config file syntax\n\n"
    )
    assert "workshop.rules.yml\n  SUCCESS: 8 rules found\n" in out


def test_check_config_failure_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    assert promtool(["check", "config", str(bad)]) == 1
    out = capsys.readouterr()
    assert out.out.startswith(f"Checking {bad}\n")
    assert f"  FAILED: {bad}:5: field lables not found in type static_config" in out.err
    assert "Traceback" not in out.err


def test_check_config_counts_rule_files(tmp_path, capsys):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yml").write_text("groups: []\n")
    (tmp_path / "p.yml").write_text("rule_files: ['rules/*.yml']\n")
    assert promtool(["check", "config", str(tmp_path / "p.yml")]) == 0
    out = capsys.readouterr().out
    assert "  SUCCESS: 1 rule files found\n" in out
    assert f"Checking {tmp_path / 'rules' / 'a.yml'}\n  SUCCESS: 0 rules found\n" in out


def test_check_config_fails_on_a_broken_rule_file(tmp_path, capsys):
    (tmp_path / "r.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: 'sum('\n"
    )
    (tmp_path / "p.yml").write_text("rule_files: [r.yml]\n")
    assert promtool(["check", "config", str(tmp_path / "p.yml")]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.interop
def test_real_promtool_agrees_on_the_default_and_a_broken_config(tmp_path):
    exe = require_binary("promtool")
    ok = subprocess.run([exe, "check", "config", DEFAULT_YML], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    res = subprocess.run([exe, "check", "config", str(bad)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "line 5: field lables not found" in res.stdout + res.stderr
