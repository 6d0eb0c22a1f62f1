"""``workshop promtool check|test rules`` agree with the real promtool on the shipped rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import require_binary

RULES_DIR = Path(__file__).resolve().parents[2] / "stack" / "rules"
SHIPPED_RULES = RULES_DIR / "workshop.rules.yml"
SHIPPED_TESTS = RULES_DIR / "workshop.rules.test.yml"


def ours(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workshop.cli", "promtool", *args],
                          capture_output=True, text=True, timeout=120)


def real(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True, timeout=120)


def test_shipped_rules_pass_our_check():
    r = ours("check", "rules", str(SHIPPED_RULES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 8 rules found" in r.stdout


def test_shipped_rule_tests_pass_under_our_promtool():
    r = ours("test", "rules", str(SHIPPED_TESTS))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@pytest.mark.interop
def test_shipped_rules_and_tests_pass_under_the_real_promtool():
    assert real("check", "rules", str(SHIPPED_RULES)).returncode == 0
    r = real("test", "rules", str(SHIPPED_TESTS))
    assert r.returncode == 0, r.stdout + r.stderr


def broken_test_file(tmp_path: Path) -> Path:
    text = SHIPPED_TESTS.read_text().replace("is down", "is DOWN").replace("value: 0.2", "value: 0.3")
    path = tmp_path / "broken.test.yml"
    path.write_text(text.replace("- workshop.rules.yml", f"- {SHIPPED_RULES}"))
    return path


def test_a_wrong_expectation_fails_under_ours_with_what_differs(tmp_path):
    r = ours("test", "rules", str(broken_test_file(tmp_path)))
    assert r.returncode == 1
    assert "FAILED" in r.stdout and "InstanceDown" in r.stdout
    assert "job_path:http_request_errors:ratio_rate1m" in r.stdout


@pytest.mark.interop
def test_a_wrong_expectation_fails_under_the_real_promtool_too(tmp_path):
    assert real("test", "rules", str(broken_test_file(tmp_path))).returncode == 1


def test_a_broken_rule_file_fails_the_check_with_its_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(\n")
    r = ours("check", "rules", str(bad))
    assert r.returncode == 1
    assert f"{bad}:5:" in r.stdout


def test_rule_tests_run_from_inside_a_running_event_loop_as_in_jupyter():
    import asyncio

    from stack.promtool.test_rules import run_test_file

    async def in_a_kernel():
        return run_test_file(str(SHIPPED_TESTS))

    results = asyncio.run(in_a_kernel())
    assert len(results) == 5 and all(not r.errors for r in results)
