"""The demo stack's process supervisor: ``workshop up | down | status | demo | lab``.

An instructor needs the whole demo (three toy services under load, Prometheus scraping them, and
the alerting chain) with one command, and needs it to behave like a well-mannered daemon: safe to
start twice, stoppable from another terminal, honest about what is running. Each component runs as
its own process (``python -m workshop.cli <command> ...``, exactly what a participant would type),
in its own process group so that stopping it also stops anything it spawned.

State lives in a state directory (``<repo>/.workshop/``, or ``$WORKSHOP_HOME``): ``run/<name>.json``
records each started process (pid, command line, URL), ``logs/<name>.log`` holds its output, and
``data/`` Prometheus' storage. A record whose process is gone, or whose pid now belongs to another
program (checked against the command line), is *stale*: it is reported and cleaned up, never trusted.

The components are one table, :data:`COMPONENTS`. Optional entries (the parts of the stack other
issues deliver) are started only when the module implementing them exists, so adding one is one row.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

MULTI_COMMAND = True  # workshop.cli passes the command name (up, down, ...) as argv[0]

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
HEALTH_TIMEOUT = 60.0  # seconds to wait for every component to answer its health check
TARGETS_TIMEOUT = 90.0  # the first scrape of each target can take up to one scrape interval
STOP_TIMEOUT = 10.0  # SIGTERM, then this long, then SIGKILL (as systemd's default stop, shortened)
POLL = 0.1


@dataclass(frozen=True)
class Layout:
    """Where this run of the stack lives: the state directory and each component's port."""

    home: Path
    ports: dict[str, int]

    def address(self, name: str) -> str:
        return f"{HOST}:{self.ports[name]}"

    def url(self, name: str) -> str:
        return f"http://{self.address(name)}"

    @property
    def toy_targets(self) -> list[str]:
        return [self.address(n) for n in self.ports if n.startswith("toyservice-")]


@dataclass(frozen=True)
class Component:
    """One row of the demo: how to start it and how to tell it is ready."""

    name: str
    module: str  # the module implementing the command; optional rows need it to exist
    args: Callable[[Layout], list[str]]  # ``workshop`` command line
    port: int | None = None  # default port (upstream's default where there is one)
    health: str | None = None  # HTTP path answering 200 once ready; None: "the process is running"
    optional: bool = False

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False


def _toyservice(i: int) -> Component:
    name = f"toyservice-{i}"

    def args(layout: Layout) -> list[str]:
        from toyservice.model import OUTAGE_STAGGER  # here: `status` and `down` need no numpy

        # Staggered outage cycles, so that the instances do not all fail at once.
        args = ["toyservice", "--listen", layout.address(name), "--name", name, "--seed", str(i),
                "--enable-faults", "--outage-offset", f"{(i - 1) * OUTAGE_STAGGER:g}s"]  # fmt: skip
        if "pushgateway" in layout.ports:  # the batch job pushes its results (a failed push is only logged)
            args += ["--pushgateway", layout.address("pushgateway")]
        return args

    return Component(name, "toyservice.main", port=8079 + i, health="/healthz", args=args)


COMPONENTS: list[Component] = [
    _toyservice(1),
    _toyservice(2),
    _toyservice(3),
    Component("loadgen", "toyservice.loadgen", args=lambda L: ["load", *_repeat("--target", L.toy_targets)]),
    Component(
        "prometheus", "stack.prometheus", port=9090, health="/-/ready", optional=True,
        args=lambda L: ["prometheus", f"--config.file={prometheus_config(L)}",
                        f"--web.listen-address={L.address('prometheus')}",
                        f"--storage.tsdb.path={L.home / 'data'}"],
    ),  # fmt: skip
    Component(
        "alertmanager", "stack.alertmanager.main", port=9093, health="/-/ready", optional=True,
        args=lambda L: ["alertmanager", f"--config.file={alertmanager_config(L)}",
                        f"--web.listen-address={L.address('alertmanager')}",
                        f"--storage.path={L.home / 'alertmanager'}"],
    ),  # fmt: skip
    Component(
        "pushgateway", "stack.pushgateway.main", port=9091, health="/-/ready", optional=True,
        args=lambda L: ["pushgateway", f"--web.listen-address={L.address('pushgateway')}"],
    ),  # fmt: skip
    Component(
        "node-exporter", "stack.node_exporter.main", port=9100, health="/metrics", optional=True,
        args=lambda L: ["node-exporter", f"--web.listen-address={L.address('node-exporter')}"],
    ),  # fmt: skip
    Component(
        "inbox", "workshop.inbox", port=5001, health="/", optional=True,
        args=lambda L: ["inbox", "--listen", L.address("inbox"), "--state-dir", str(L.home / "inbox")],
    ),  # fmt: skip
]


def _repeat(flag: str, values: list[str]) -> list[str]:
    return [part for v in values for part in (flag, v)]


class SupervisorError(Exception):
    """A problem the user can fix (port in use, bad option); printed without a traceback."""


# --- state ------------------------------------------------------------------------------------
def state_home() -> Path:
    return Path(os.environ.get("WORKSHOP_HOME") or REPO_ROOT / ".workshop")


def record_path(home: Path, name: str) -> Path:
    return home / "run" / f"{name}.json"


def read_record(home: Path, name: str) -> dict | None:
    try:
        return json.loads(record_path(home, name).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return {"pid": -1, "cmdline": []}  # unreadable: treat as stale


def process_state(record: dict | None) -> str:
    """``running``, ``stopped`` (no record) or ``stale`` (process gone, or pid reused by another program)."""
    if record is None:
        return "stopped"
    try:
        proc = psutil.Process(record["pid"])
        if proc.status() == psutil.STATUS_ZOMBIE or proc.cmdline() != record["cmdline"]:
            return "stale"
    except (psutil.Error, KeyError, TypeError, ValueError):
        return "stale"
    return "running"


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --- the layout and Prometheus' configuration ------------------------------------------------------
def resolve_layout(port_options: list[str], only: list[str] | None) -> tuple[Layout, list[Component]]:
    """The components to run (available, optionally filtered) and their ports.

    Ports come from ``--port NAME=PORT``, then ``WORKSHOP_PORT_<NAME>`` (``-`` as ``_``), then defaults.
    """
    names = {c.name for c in COMPONENTS}
    wanted = [c for c in COMPONENTS if (only is None or c.name in only) and (not c.optional or c.available())]
    for name in only or []:
        if name not in names:
            raise SupervisorError(f"unknown component {name!r}; known: {', '.join(sorted(names))}")
    ports = {c.name: c.port for c in COMPONENTS if c.port is not None}
    for c in COMPONENTS:
        env = os.environ.get(f"WORKSHOP_PORT_{c.name.upper().replace('-', '_')}")
        if env and c.port is not None:
            ports[c.name] = _port(env, f"WORKSHOP_PORT_{c.name.upper().replace('-', '_')}")
    for option in port_options:
        name, sep, value = option.partition("=")
        if not sep or name not in ports:
            known = ", ".join(ports)
            raise SupervisorError(f"--port {option!r}: expected NAME=PORT with NAME one of {known}")
        ports[name] = _port(value, f"--port {option}")
    return Layout(state_home(), ports), wanted


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SupervisorError(f"{where}: {text!r} is not a port number")
    return int(text)


def prometheus_config(layout: Layout) -> Path:
    """The Prometheus config to run: the default one, or a copy pointing at the ports in use.

    When every port is the default, ``stack/prometheus.yml`` is used as is. Otherwise (tests, or a
    machine where 9090 is taken) a copy is written to the state directory with each default address
    replaced by the one in use, and relative rule file paths made absolute, as they are resolved
    against the config file's own directory.
    """
    source = REPO_ROOT / "stack" / "prometheus.yml"
    moved = _moved_addresses(layout)
    if not moved or not source.exists():
        return source
    config = yaml.safe_load(source.read_text())
    config = _replace_strings(config, moved)
    for key in ("rule_files", "scrape_config_files"):
        if isinstance(config.get(key), list):
            config[key] = [str(source.parent / f) for f in config[key]]
    # Addresses live in file_sd target files (deploy/targets/local.yml): copy them, moved too.
    sections = [*config.get("scrape_configs", []), *config.get("alerting", {}).get("alertmanagers", [])]
    for section in sections:
        for sd in section.get("file_sd_configs") or []:
            files = sd.get("files", [])
            sd["files"] = [str(_moved_targets_file(layout, source.parent / f, moved)) for f in files]
    return _write_config(layout, "prometheus.yml", config)


def _moved_targets_file(layout: Layout, path: Path, moved: dict[str, str]) -> Path:
    """A copy of a file_sd target file with the moved addresses, next to the rendered config."""
    groups = yaml.safe_load(path.read_text()) if path.exists() else []
    return _write_config(layout, f"targets/{path.name}", _replace_strings(groups or [], moved))


def alertmanager_config(layout: Layout) -> Path:
    """``stack/alertmanager.yml``, or a copy whose webhook URLs point at the inbox's port in use."""
    source = REPO_ROOT / "stack" / "alertmanager.yml"
    moved = {f"http://{old}": f"http://{new}" for old, new in _moved_addresses(layout).items()}
    if not moved or not source.exists():
        return source
    config = yaml.safe_load(source.read_text())
    for receiver in config.get("receivers") or []:
        for webhook in receiver.get("webhook_configs") or []:
            url = webhook.get("url", "")
            for old, new in moved.items():
                if url == old or url.startswith(old + "/"):
                    webhook["url"] = new + url[len(old):]
    return _write_config(layout, "alertmanager.yml", config)


def _moved_addresses(layout: Layout) -> dict[str, str]:
    """Default address -> address in use, for every component not on its default port."""
    defaults = {c.name: c.port for c in COMPONENTS if c.port is not None}
    return {f"{host}:{defaults[n]}": layout.address(n) for n in defaults if layout.ports[n] != defaults[n]
            for host in (HOST, "localhost")}  # fmt: skip


def _write_config(layout: Layout, name: str, config: dict | list) -> Path:
    target = layout.home / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def _replace_strings(node, replacements: dict[str, str]):
    if isinstance(node, dict):
        return {k: _replace_strings(v, replacements) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_strings(v, replacements) for v in node]
    if isinstance(node, str):
        return replacements.get(node, node)
    return node


# --- starting ----------------------------------------------------------------------------------
def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def start_components(layout: Layout, components: list[Component]) -> dict[str, subprocess.Popen]:
    """Start every component not already running; raise before starting anything if a port is taken."""
    to_start = []
    for c in components:
        state = process_state(read_record(layout.home, c.name))
        if state == "running":
            continue
        if state == "stale":
            record_path(layout.home, c.name).unlink(missing_ok=True)
        to_start.append(c)
    for c in to_start:
        if c.name in layout.ports and port_in_use(layout.ports[c.name]):
            raise SupervisorError(
                f"port {layout.ports[c.name]} ({c.name}) is already in use by another program; stop it, "
                f"or pick another port with --port {c.name}=PORT"
            )
    for sub in ("run", "logs", "data"):
        (layout.home / sub).mkdir(parents=True, exist_ok=True)
    started = {}
    for c in to_start:
        cmdline = [sys.executable, "-m", "workshop.cli", *c.args(layout)]
        with open(layout.home / "logs" / f"{c.name}.log", "ab") as log:
            proc = subprocess.Popen(
                cmdline, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=REPO_ROOT, start_new_session=True,
            )  # fmt: skip
        record = {"pid": proc.pid, "cmdline": cmdline, "url": _url(layout, c), "started": time.time()}
        record_path(layout.home, c.name).write_text(json.dumps(record))
        started[c.name] = proc
    return started


def _url(layout: Layout, c: Component) -> str:
    return layout.url(c.name) if c.name in layout.ports else ""


def healthy(layout: Layout, c: Component) -> bool:
    if c.health is None:
        return process_state(read_record(layout.home, c.name)) == "running"
    try:
        with urllib.request.urlopen(layout.url(c.name) + c.health, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(layout: Layout, components: list[Component], timeout: float, out=sys.stdout) -> list[str]:
    """Poll until every component is healthy, drawing one ticking line each; returns the failures."""
    progress = Progress(out)
    start, done, failed = time.monotonic(), {}, {}
    while True:
        elapsed = time.monotonic() - start
        for c in components:
            if c.name in done or c.name in failed:
                continue
            if healthy(layout, c):
                done[c.name] = elapsed
            elif process_state(read_record(layout.home, c.name)) != "running":
                failed[c.name] = "exited"
            elif elapsed > timeout:
                failed[c.name] = f"not healthy after {timeout:.0f}s"
        progress.draw([_progress_line(layout, c, done, failed, elapsed) for c in components])
        if len(done) + len(failed) == len(components):
            logs = layout.home / "logs"
            return [f"{name}: {why} (log: {logs / f'{name}.log'})" for name, why in failed.items()]
        time.sleep(POLL)


def _progress_line(layout: Layout, c: Component, done: dict, failed: dict, elapsed: float) -> str:
    url = _url(layout, c) or "(no port)"
    if c.name in done:
        return f"  ok  {c.name:<14} {url:<24} ready in {done[c.name]:.1f}s"
    if c.name in failed:
        return f"  !!  {c.name:<14} {url:<24} {failed[c.name]}"
    spinner = "|/-\\"[int(elapsed / POLL) % 4]
    return f"  {spinner:>2}  {c.name:<14} {url:<24} starting {elapsed:.1f}s"


class Progress:
    """Redraws a block of lines in place on a terminal; elsewhere (logs, tests) prints changes only."""

    def __init__(self, out):
        self.out, self.tty = out, out.isatty()
        self._last: list[str] = []

    def draw(self, lines: list[str]) -> None:
        if self.tty:
            up = f"\x1b[{len(self._last)}F" if self._last else ""
            self.out.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        else:
            previous = self._last + [""] * (len(lines) - len(self._last))
            for line, old in zip(lines, previous, strict=False):
                if line != old and " starting " not in line:
                    self.out.write(line + "\n")
        self.out.flush()
        self._last = lines


def wait_targets_up(layout: Layout, running: set[str], timeout: float, out=sys.stdout) -> list[str]:
    """Poll Prometheus' /api/v1/targets until every target we run is up; returns those that are not.

    Targets of components not in this run (say, a Pushgateway not delivered yet) are not waited for.
    """
    deadline, down = time.monotonic() + timeout, ["(no targets yet)"]
    progress = Progress(out)
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(layout.url("prometheus") + "/api/v1/targets", timeout=2) as r:
                targets = [t for t in json.load(r)["data"]["activeTargets"]
                           if t.get("discoveredLabels", {}).get("__address__") in running]  # fmt: skip
            down = [f"{t['labels'].get('job')}/{t['scrapeUrl']}" for t in targets if t.get("health") != "up"]
            if targets and not down:
                progress.draw([f"  ok  {'targets':<14} all {len(targets)} up"])
                return []
            progress.draw([f"  ..  {'targets':<14} {len(targets) - len(down)}/{len(targets)} up"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.5)
    return down


# --- stopping ----------------------------------------------------------------------------------
def stop_component(home: Path, name: str, timeout: float = STOP_TIMEOUT) -> str:
    """Stop one recorded component and everything in its process group; returns what happened."""
    record = read_record(home, name)
    state = process_state(record)
    path = record_path(home, name)
    if state != "running":
        path.unlink(missing_ok=True)
        return "was not running" if state == "stopped" else "stale record removed"
    pid = record["pid"]
    try:
        family = [pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        family = [pid]
    _signal_group(pid, family, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in family) and time.monotonic() < deadline:
        _reap(family)
        time.sleep(POLL)
    how = "stopped"
    if any(alive(p) for p in family):
        _signal_group(pid, family, signal.SIGKILL)
        how = f"killed (no exit {timeout:.0f}s after SIGTERM)"
        while any(alive(p) for p in family) and time.monotonic() < deadline + timeout:
            _reap(family)
            time.sleep(POLL)
    _reap(family)
    path.unlink(missing_ok=True)
    return how


def _signal_group(pgid: int, family: list[int], sig: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, sig)  # the component was started as the leader of its own group
    for pid in family:  # and anything that left the group
        if alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, sig)


def _reap(pids: list[int]) -> None:
    """Collect our own exited children (``workshop demo``), so they do not linger as zombies."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def stop_all(home: Path, out=sys.stdout) -> None:
    # Load generator first (no new requests), then the rest in reverse start order.
    for c in reversed(COMPONENTS):
        if read_record(home, c.name) is not None:
            print(f"  {c.name:<14} {stop_component(home, c.name)}", file=out)


# --- the commands ------------------------------------------------------------------------------
def cmd_status(args, out=sys.stdout) -> int:
    home = state_home()
    print(f"{'component':<14} {'state':<12} {'pid':>7}  url", file=out)
    for c in COMPONENTS:
        record = read_record(home, c.name)
        state = process_state(record)
        if state == "stopped" and c.optional and not c.available():
            state = "unavailable"
        pid = str(record.get("pid", "")) if record else ""
        print(f"{c.name:<14} {state:<12} {pid:>7}  {(record or {}).get('url', '')}", file=out)
    print(f"\nlogs: {home / 'logs'}", file=out)
    return 0


def cmd_down(args, out=sys.stdout) -> int:
    print("stopping the demo stack:", file=out)
    stop_all(state_home(), out)
    return 0


def cmd_up(args, out=sys.stdout) -> int:
    layout, components = resolve_layout(args.port, _split(args.only))
    running = [c for c in components if process_state(read_record(layout.home, c.name)) == "running"]
    if len(running) == len(components):
        _print_urls(layout, components, out, "the demo stack is already running:")
        return 0
    for c in running:
        print(f"  {c.name} is already running", file=out)
    start_components(layout, components)
    print(f"starting the demo stack (state in {layout.home}):", file=out)
    failures = wait_healthy(layout, components, args.timeout, out)
    if failures:
        print("\nsome components did not come up:\n  " + "\n  ".join(failures), file=out)
        print("(`workshop down` stops the components that did start)", file=out)
        return 1
    if any(c.name == "prometheus" for c in components):
        running = {layout.address(c.name) for c in components if c.name in layout.ports}
        down = wait_targets_up(layout, running, TARGETS_TIMEOUT, out)
        if down:
            print("\nPrometheus reports targets down: " + ", ".join(down), file=out)
            return 1
    _print_urls(layout, components, out)
    return 0


def cmd_demo(args, out=sys.stdout) -> int:
    """``up`` in the foreground: stops everything on Ctrl-C (or SIGTERM)."""
    layout, components = resolve_layout(args.port, _split(args.only))
    if all(process_state(read_record(layout.home, c.name)) == "running" for c in components):
        print("the demo stack is already running in the background (`workshop down` stops it)", file=out)
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = cmd_up(args, out)
        if code == 0:
            print("\nrunning; press Ctrl-C to stop", file=out)
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        code = 0
    finally:
        print("\nstopping the demo stack:", file=out)
        stop_all(layout.home, out)
    return code


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops `workshop demo` the way Ctrl-C does


def cmd_lab(args, out=sys.stdout) -> int:
    code = cmd_up(args, out)
    if code != 0:
        return code
    command = lab_command()
    print(f"\nstarting JupyterLab: {' '.join(command)}", file=out)
    print("(the stack keeps running after JupyterLab ends; `workshop down` stops it)", file=out)
    out.flush()
    os.chdir(REPO_ROOT)
    os.execv(command[0], command)
    return 0  # not reached


def lab_command() -> list[str]:
    jupyter = Path(sys.executable).with_name("jupyter")
    return [str(jupyter), "lab", "--notebook-dir=notebooks", f"--ip={HOST}", "--port", "8888"]


def _print_urls(layout: Layout, components: list[Component], out, title="\nthe demo stack is up:") -> None:
    print(title, file=out)
    for c in components:
        if c.name in layout.ports:
            print(f"  {c.name:<14} {layout.url(c.name)}", file=out)
    print(f"\nlogs in {layout.home / 'logs'}; `workshop status` shows it, `workshop down` stops it", file=out)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for v in values for name in v.split(",") if name.strip()]


def build_parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"workshop {command}")
    if command in ("up", "demo", "lab"):
        p.add_argument("--port", action="append", default=[], metavar="NAME=PORT",
                       help="use another port for a component, e.g. --port prometheus=19090")  # fmt: skip
        p.add_argument("--only", action="append", metavar="NAME[,NAME]", help="start only these components")
        p.add_argument("--timeout", type=float, default=HEALTH_TIMEOUT, help="seconds to wait for health")
    return p


COMMAND_FUNCTIONS = {
    "up": cmd_up,
    "demo": cmd_demo,
    "lab": cmd_lab,
    "status": cmd_status,
    "down": cmd_down,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMAND_FUNCTIONS:
        print(f"usage: workshop {{{'|'.join(COMMAND_FUNCTIONS)}}} [options]", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    args = build_parser(command).parse_args(rest)
    try:
        return COMMAND_FUNCTIONS[command](args)
    except SupervisorError as e:
        print(f"workshop {command}: {e}", file=sys.stderr)
        return 1
