"""Shared test helpers (import as ``from tests.support import ...``).

Free ports, readiness polling, and the real binaries' availability.

Tests that need Debian's Prometheus binaries or Chromium skip with a reason on a machine without
them, but under CI (``CI=true``) a missing binary is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.request

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

