"""``workshop toyservice`` as participants run it: a real process on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.support import require_binary, wait_http
from toyservice.durations import parse_duration
from toyservice.main import split_address


def workshop(*args: str) -> list[str]:
    return [sys.executable, "-m", "workshop.cli", *args]


@pytest.fixture
def running_service(port):
    # no outage cycle: the seeded first answers are then always 200
    command = workshop("toyservice", "--listen", f"127.0.0.1:{port}", "--seed", "3", "--outage-for", "0")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0  # SIGTERM is a clean shutdown


def test_toyservice_command_serves_the_api_and_metrics(running_service):
    with urllib.request.urlopen(f"http://{running_service}/api/foo") as r:
        assert r.status == 200
    with urllib.request.urlopen(f"http://{running_service}/metrics") as r:
        body = r.read().decode()
    assert 'http_requests_total{method="GET",path="/api/foo"' in body
    assert "process_resident_memory_bytes" in body  # live instances also export process metrics


@pytest.mark.interop
def test_real_promtool_accepts_the_metrics_without_complaint(running_service):
    promtool = require_binary("promtool")
    with urllib.request.urlopen(f"http://{running_service}/api/bar", data=b"x"):
        pass
    with urllib.request.urlopen(f"http://{running_service}/metrics") as r:
        body = r.read()
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_port_in_use_exits_1_naming_the_address(port):
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        result = subprocess.run(workshop("toyservice", "--listen", f"127.0.0.1:{port}"),
                                capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--listen", "8080"], "not a host:port address: '8080'"),
    (["--outage-for", "two minutes"], "not a duration: 'two minutes'"),
])  # fmt: skip
def test_bad_arguments_are_usage_errors_naming_the_value(args, message):
    result = subprocess.run(workshop("toyservice", *args), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("2m", 120), ("1h30m", 5400),
                                               ("500ms", 0.5), ("1d", 86400)])  # fmt: skip
def test_durations_read_like_prometheus_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "2x", "1h 30m", "-5s", "nan"])
def test_non_durations_are_rejected(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_addresses_split_into_host_and_port():
    assert split_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    with pytest.raises(ValueError, match="not a host:port"):
        split_address("127.0.0.1:99999")
