"""Shared test helpers (import as ``from tests.support import ...``).

Free ports, readiness polling, and the real binaries' availability.

Tests that need Debian's Prometheus binaries or Chromium skip with a reason on a machine without
them, but under CI (``CI=true``) a missing binary is a failure, never a silent skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_binary(name: str) -> str:
    """Path of an external program; skip (or fail under CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI but not installed (.ci/run installs it)")
        pytest.skip(f"{name} not installed")
    return path


def wait_http(url: str, timeout: float = 20.0, ok=lambda status: status == 200) -> None:
    """Poll ``url`` until it answers (readiness), instead of sleeping a guessed time."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if ok(r.status):
                    return
        except Exception as e:  # noqa: BLE001 - any failure means "not ready yet"
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")



WORKSHOP = [sys.executable, "-m", "workshop.cli"]


@contextlib.contextmanager
def running(cmd: list[str], ready_url: str | None, log_path: Path, timeout: float = 60.0):
    """Run ``cmd`` as a subprocess until the block ends; wait for ``ready_url`` first.

    The process's output goes to ``log_path`` (shown when readiness fails); it is always stopped,
    with SIGTERM and then SIGKILL, so no test leaves a server behind.
    """
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        if ready_url is not None:
            try:
                wait_http(ready_url, timeout=timeout)
            except TimeoutError:
                log.flush()
                tail = Path(log_path).read_text(errors="replace")[-3000:]
                raise TimeoutError(f"{cmd[0]} not ready; its log:\n{tail}") from None
        yield proc
    finally:
        stop_process(proc)
        log.close()


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout``; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get_json(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def poll(fn, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Call ``fn`` until it returns something truthy (and return it), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - not there yet
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached after {timeout}s (last: {last!r})")
