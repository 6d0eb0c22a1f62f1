"""README's promises: its commands exist, its addresses are the real defaults, ``./run`` sets up once.

The ``./run`` tests use a copy of the script next to a fake ``.venv`` whose programs only log how
they were called, so the bootstrap logic is checked for real without installing anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from workshop.cli import COMMANDS
from workshop.supervisor import COMPONENTS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, re.S)
CODE_BLOCKS = "\n".join(text for lang, text in BLOCKS if lang in ("", "sh"))
INLINE_CODE = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", README, flags=re.S))


def test_every_workshop_command_in_the_readme_exists():
    shell = CODE_BLOCKS + "\n" + "\n".join(INLINE_CODE)
    used = set(re.findall(r"(?:^|\s|/)workshop ([a-z-]+)", shell, re.M))
    assert {"demo", "up", "down", "status", "fault", "load", "lab", "toyservice"} <= used
    assert used <= set(COMMANDS), used - set(COMMANDS)


def test_readme_run_commands_are_the_run_script_subcommands():
    used = set(re.findall(r"\./run ([a-z]+)", CODE_BLOCKS))
    assert used == {"demo", "test"}
    script = (ROOT / "run").read_text()
    for sub in used:
        assert re.search(rf"^  {sub}\)$", script, re.M), sub


def test_readme_addresses_are_the_default_ports():
    defaults = {c.name: c.port for c in COMPONENTS if c.port is not None}
    for name, label in [("prometheus", "Prometheus"), ("alertmanager", "Alertmanager"),
                        ("pushgateway", "Pushgateway"), ("node-exporter", "Node exporter"),
                        ("inbox", "Notification inbox"), ("toyservice-1", "Toy services")]:  # fmt: skip
        row = next(line for line in README.splitlines() if line.startswith(f"| {label} |"))
        assert f"http://127.0.0.1:{defaults[name]}" in row, row
    assert [defaults[f"toyservice-{i}"] for i in (1, 2, 3)] == [8080, 8081, 8082]


def test_readme_python_examples_use_the_public_surface():
    import importlib

    import workshop

    examples = [text for lang, text in BLOCKS if lang == "python"]
    assert any("from workshop import Simulation" in e for e in examples)
    assert "Simulation" in workshop.__all__
    for module, names in re.findall(r"^from ([\w.]+) import (.+)$", "\n".join(examples), re.M):
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(importlib.import_module(module), name), f"README imports {module}.{name}"


def test_layout_names_only_what_exists():
    layout = README.split("## Layout", 1)[1]
    names = re.findall(r"^([\w./-]+)\s{2,}", layout.split("```")[1], re.M)
    assert "toyservice/" in names and ".ci/run" in names
    for name in names:
        assert (ROOT / name).exists(), name


def test_environment_yml_installs_the_same_package_with_its_test_extra():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python>=3.11" in deps and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ['-e ".[test]"']


def test_ci_script_installs_the_debian_packages_then_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script
    for package in ["prometheus", "prometheus-alertmanager", "prometheus-pushgateway",
                    "prometheus-node-exporter", "chromium"]:  # fmt: skip
        assert re.search(rf"(^|\s|\(){re.escape(package)}(\s|\)|$)", script), package
    assert script.rstrip().splitlines()[-1] == "./run test"
    assert "./run test" in CODE_BLOCKS
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")]).returncode == 0


# --- ./run's bootstrap --------------------------------------------------------------------------
FAKE = '#!/bin/sh\necho "{name} $*" >> "$(dirname "$0")/../../calls.log"\n'


@pytest.fixture
def sandbox(tmp_path):
    shutil.copy(ROOT / "run", tmp_path / "run")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name in ("python", "workshop"):
        (bin_ / name).write_text(FAKE.format(name=name))
        (bin_ / name).chmod(0o755)
    return tmp_path


def run_script(sandbox: Path, *args: str) -> list[str]:
    log = sandbox / "calls.log"
    log.unlink(missing_ok=True)
    result = subprocess.run([str(sandbox / "run"), *args], capture_output=True, text=True, timeout=60,
                            cwd=sandbox, env={**os.environ, "PYTHON": "/nonexistent"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_run_installs_once_and_then_starts_at_once(sandbox):
    first = run_script(sandbox, "demo", "--only", "toyservice-1")
    assert first == ["python -m pip install --quiet --disable-pip-version-check -e .[test]",
                     "workshop demo --only toyservice-1"]  # fmt: skip
    assert run_script(sandbox, "test", "-q") == ["python -m pytest -q"]


def test_run_reinstalls_when_pyproject_changes(sandbox):
    run_script(sandbox, "status")
    later = time.time() + 5
    os.utime(sandbox / "pyproject.toml", (later, later))
    assert run_script(sandbox, "status")[0].startswith("python -m pip install")


def test_run_without_python_311_says_what_is_needed(tmp_path):
    shutil.copy(ROOT / "run", tmp_path / "run")
    (tmp_path / "pyproject.toml").write_text("")
    tools = tmp_path / "tools"  # the basic tools, but no python at all
    tools.mkdir()
    for tool in ("dirname", "sed", "touch"):
        (tools / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(tools), "PYTHON": ""}
    result = subprocess.run(["/bin/bash", str(tmp_path / "run"), "demo"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert result.returncode != 0
    assert "Python 3.11 or newer is needed" in result.stderr
