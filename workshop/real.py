"""``workshop real up | down | status``: the demo on the real Prometheus binaries, without Docker.

The in-package stack is there to be read and to run anywhere; the point of this command is to show
that the same configs drive the real thing. On a machine with Debian's packages (``prometheus``,
``prometheus-alertmanager``, ``prometheus-pushgateway``, ``prometheus-node-exporter``) or upstream's
binaries on ``PATH``, it starts them on the usual ports (9090, 9093, 9091, 9100) with
``stack/prometheus.yml``, ``stack/rules/`` and ``stack/alertmanager.yml``, next to our toy services,
load generator and notification inbox. A classroom laptop without Docker can then show the real
Prometheus scraping the toy services and the real Alertmanager delivering to the inbox.

The shared files are not run from ``stack/`` directly but rendered into the state directory
(``$WORKSHOP_HOME/real``, default ``.workshop/real``): the same documents with only the addresses
changed when a port is moved (``--port prometheus=19090``, as for ``workshop up``), and paths made
absolute because they are resolved against the config file's folder. :func:`render_configs` is that
step, and it understands both ways of naming targets: ``static_configs`` and ``file_sd_configs``
target files (``deploy/targets/local.yml``), whose copies get the same address rewrite.

Processes are managed exactly as ``workshop up`` manages its own (:mod:`workshop.supervisor`): one
record per process under ``run/``, logs under ``logs/``, stale records detected, process groups
stopped with SIGTERM then SIGKILL.
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from workshop import supervisor
from workshop.supervisor import Component, Layout, SupervisorError

REPO_ROOT = supervisor.REPO_ROOT
PROMETHEUS_CONFIG = REPO_ROOT / "stack" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO_ROOT / "stack" / "alertmanager.yml"
HEALTH_TIMEOUT = 60.0
TARGETS_TIMEOUT = 60.0
LOCAL_HOSTS = ("127.0.0.1", "localhost")  # how the shared configs spell "this machine"


@dataclass(frozen=True)
class Binary:
    """One of upstream's programs: where it may be installed and how it is started here."""

    name: str  # the component name, as in ``workshop up`` (and the port table)
    programs: tuple[str, ...]  # Debian's name first, then upstream's tarball name
    package: str  # the Debian package that installs it
    health: str  # upstream's health endpoint (node exporter 1.5 has none: its landing page)
    args: Callable[[Layout, dict[str, Path]], list[str]]

    def find(self) -> str | None:
        for program in self.programs:
            for candidate in (Path("/usr/bin") / program, shutil.which(program)):
                if candidate and Path(candidate).is_file():
                    return str(candidate)
        return None

    def component(self) -> Component:
        """The supervisor's view of this row (name and health check), for its waiting and stopping."""
        return Component(self.name, module="", args=lambda layout: [], health=self.health)


BINARIES: list[Binary] = [
    Binary("alertmanager", ("prometheus-alertmanager", "alertmanager"), "prometheus-alertmanager",
           "/-/healthy",
           lambda L, c: [f"--config.file={c['alertmanager']}",
                         f"--web.listen-address={L.address('alertmanager')}",
                         f"--storage.path={L.home / 'data' / 'alertmanager'}",
                         "--cluster.listen-address="]),  # one Alertmanager: no gossip port (default :9094)
    Binary("pushgateway", ("prometheus-pushgateway", "pushgateway"), "prometheus-pushgateway", "/-/healthy",
           lambda L, c: [f"--web.listen-address={L.address('pushgateway')}"]),
    Binary("node-exporter", ("prometheus-node-exporter", "node_exporter"), "prometheus-node-exporter", "/",
           lambda L, c: [f"--web.listen-address={L.address('node-exporter')}"]),
    Binary("prometheus", ("prometheus",), "prometheus", "/-/healthy",
           lambda L, c: [f"--config.file={c['prometheus']}",
                         f"--web.listen-address={L.address('prometheus')}",
                         f"--storage.tsdb.path={L.home / 'data' / 'prometheus'}"]),
]  # fmt: skip

# Our own programs, exactly as ``workshop up`` runs them (three toy services with faults enabled, the inbox).
OURS = ["inbox", "toyservice-1", "toyservice-2", "toyservice-3"]


def our_components(flat_load: bool = False) -> list[Component]:
    """Our programs as ``workshop up`` runs them; ``flat_load`` sends a steady rate instead of the wave
    (for comparing two Prometheus servers, whose scrapes fall at different moments)."""
    rows = {c.name: c for c in supervisor.COMPONENTS}
    wave = rows["loadgen"]
    flat = Component("loadgen", wave.module, args=lambda layout: [*wave.args(layout), "--amplitude", "0"])
    return [rows[name] for name in OURS] + [flat if flat_load else wave]


# Start order: receivers before senders, Prometheus after what it scrapes, the load last.
def start_order() -> list[str]:
    return ["inbox", "alertmanager", "pushgateway", "node-exporter", *OURS[1:], "prometheus", "loadgen"]


# --- the configs ----------------------------------------------------------------------------------
def moved_addresses(layout: Layout) -> dict[str, str]:
    """Each default address (``127.0.0.1:9090``, ``localhost:9090``) -> the one in use, for moved ports."""
    defaults = {c.name: c.port for c in supervisor.COMPONENTS if c.port is not None}
    return {f"{host}:{port}": layout.address(name) for name, port in defaults.items()
            if layout.ports.get(name, port) != port for host in LOCAL_HOSTS}  # fmt: skip


def rewrite(node, moved: dict[str, str]):
    """Replace addresses in a parsed YAML document: whole strings (targets) and URLs (webhooks)."""
    if isinstance(node, dict):
        return {k: rewrite(v, moved) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite(v, moved) for v in node]
    if isinstance(node, str):
        if node in moved:
            return moved[node]
        for old, new in moved.items():
            for scheme in ("http://", "https://"):
                if node == scheme + old or node.startswith(scheme + old + "/"):
                    return scheme + new + node[len(scheme + old):]
    return node


def render_configs(
    layout: Layout,
    rule_files: list[str] | None = None,
    prometheus_source: Path = PROMETHEUS_CONFIG,
    alertmanager_source: Path = ALERTMANAGER_CONFIG,
) -> dict[str, Path]:
    """Write the configs the binaries run under ``<home>/config``; returns their paths by component.

    ``rule_files`` replaces the config's own (say, a copy with shorter ``for:`` for a quick demo).
    """
    out = layout.home / "config"
    (out / "targets").mkdir(parents=True, exist_ok=True)
    moved = moved_addresses(layout)
    base = prometheus_source.parent
    config = rewrite(yaml.safe_load(prometheus_source.read_text()) or {}, moved)

    def absolute(path: str) -> str:
        return str(Path(path) if Path(path).is_absolute() else base / path)

    def render_sd(sd_configs: list) -> None:
        for sd in sd_configs or []:
            rendered = []
            for pattern in sd.get("files") or []:
                for found in sorted(glob.glob(absolute(pattern))):
                    copy = out / "targets" / Path(found).name
                    copy.write_text(yaml.safe_dump(rewrite(yaml.safe_load(Path(found).read_text()), moved)))
                    rendered.append(str(copy))
            sd["files"] = rendered or [absolute(p) for p in sd.get("files") or []]

    for job in config.get("scrape_configs") or []:
        render_sd(job.get("file_sd_configs"))
    for am in (config.get("alerting") or {}).get("alertmanagers") or []:
        render_sd(am.get("file_sd_configs"))
    if rule_files is not None:
        config["rule_files"] = [str(Path(f).resolve()) for f in rule_files]
    elif config.get("rule_files"):
        config["rule_files"] = [absolute(f) for f in config["rule_files"]]
    paths = {"prometheus": out / "prometheus.yml", "alertmanager": out / "alertmanager.yml"}
    alertmanager = rewrite(yaml.safe_load(alertmanager_source.read_text()), moved)
    for name, source, document in (("prometheus", prometheus_source, config),
                                   ("alertmanager", alertmanager_source, alertmanager)):  # fmt: skip
        header = f"# Rendered by `workshop real up` from {source}: edit that file, not this copy.\n"
        paths[name].write_text(header + yaml.safe_dump(document, sort_keys=False))
    return paths


# --- starting and stopping ------------------------------------------------------------------------
def real_layout(port_options: list[str]) -> Layout:
    """Ports as for ``workshop up`` (``--port NAME=PORT``, ``WORKSHOP_PORT_<NAME>``), state in ``real/``."""
    layout, _ = supervisor.resolve_layout(port_options, None)
    return Layout(supervisor.state_home() / "real", layout.ports)


def find_binaries() -> dict[str, str]:
    """Each binary's path; raises naming the missing ones and how to get them."""
    found = {b.name: b.find() for b in BINARIES}
    missing = [b for b in BINARIES if found[b.name] is None]
    if missing:
        names = ", ".join(b.programs[0] for b in missing)
        packages = " ".join(b.package for b in missing)
        raise SupervisorError(
            f"not installed: {names}. On Debian/Ubuntu: `apt-get install {packages}` (or put upstream's "
            "binaries on PATH); with Docker, `docker compose up -d` runs the same stack (docs/real-stack.md)"
        )
    return found  # type: ignore[return-value]


def spawn(layout: Layout, name: str, cmdline: list[str]) -> None:
    """Start one program in its own session with a supervisor record, so ``down`` can stop it."""
    with open(layout.home / "logs" / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(cmdline, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=layout.home, start_new_session=True)  # fmt: skip
    record = {"pid": proc.pid, "cmdline": cmdline, "url": layout.url(name), "started": time.time()}
    supervisor.record_path(layout.home, name).write_text(json.dumps(record))


def up(layout: Layout, rule_files: list[str] | None = None, flat_load: bool = False, out=sys.stdout) -> int:
    programs = find_binaries()
    ours = our_components(flat_load)
    components = [b.component() for b in BINARIES] + ours
    to_start = [c for c in components if _state(layout.home, c.name) != "running"]
    for c in to_start:
        if c.name in layout.ports and supervisor.port_in_use(layout.ports[c.name]):
            service = {b.name: b.package for b in BINARIES}.get(c.name)
            hint = f"; Debian's package runs its own: `systemctl stop {service}`" if service else ""
            raise SupervisorError(
                f"port {layout.ports[c.name]} ({c.name}) is already in use (`workshop down` stops the "
                f"in-package stack{hint}); or pick another port with --port {c.name}=PORT"
            )
    for sub in ("run", "logs", "data"):
        (layout.home / sub).mkdir(parents=True, exist_ok=True)
    configs = render_configs(layout, rule_files)
    print(f"starting the real stack (state in {layout.home}):", file=out)
    starting = {c.name for c in to_start}
    binaries = {b.name: b for b in BINARIES}
    ours_by_name = {c.name: c for c in ours}
    for name in start_order():
        if name not in starting:
            continue
        if name in binaries:
            spawn(layout, name, [programs[name], *binaries[name].args(layout, configs)])
        else:
            supervisor.start_components(layout, [ours_by_name[name]])
    failures = supervisor.wait_healthy(layout, components, HEALTH_TIMEOUT, out)
    if failures:
        print("\nsome components did not come up:\n  " + "\n  ".join(failures), file=out)
        print("`workshop real down` stops the others", file=out)
        return 1
    running = {layout.address(c.name) for c in components if c.name in layout.ports}
    down = supervisor.wait_targets_up(layout, running, TARGETS_TIMEOUT, out)
    if down:
        print("\nPrometheus reports targets down: " + ", ".join(down), file=out)
        return 1
    print("\nthe real stack is up:", file=out)
    for c in components:
        if c.name in layout.ports:
            print(f"  {c.name:<14} {layout.url(c.name)}", file=out)
    print(f"\nconfigs in {layout.home / 'config'}; `workshop real down` stops it", file=out)
    return 0


def _state(home: Path, name: str) -> str:
    return supervisor.process_state(supervisor.read_record(home, name))


def down(home: Path, out=sys.stdout) -> int:
    print("stopping the real stack:", file=out)
    for name in reversed(start_order()):
        if supervisor.read_record(home, name) is not None:
            print(f"  {name:<14} {supervisor.stop_component(home, name)}", file=out)
    return 0


def status(home: Path, out=sys.stdout) -> int:
    """Each component's process state and, when running, whether its health endpoint answers."""
    health = {b.name: b.health for b in BINARIES} | {c.name: c.health for c in our_components()}
    print(f"{'component':<14} {'state':<12} {'pid':>7}  {'health':<9} url", file=out)
    for name in start_order():
        record = supervisor.read_record(home, name)
        state = supervisor.process_state(record)
        url = (record or {}).get("url", "")
        answer = ""
        if state == "running":
            answer = "-" if not url or health[name] is None else ("healthy" if _answers(url + health[name])
                                                                   else "unhealthy")  # fmt: skip
        pid = str(record.get("pid", "")) if record else ""
        print(f"{name:<14} {state:<12} {pid:>7}  {answer:<9} {url}", file=out)
    print(f"\nlogs: {home / 'logs'}", file=out)
    return 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


# --- the command ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="workshop real", description="run the real Prometheus binaries with the workshop's configs"
    )
    sub = p.add_subparsers(dest="command", required=True)
    u = sub.add_parser("up", help="start the real stack in the background and wait until every target is up")
    u.add_argument("--port", action="append", default=[], metavar="NAME=PORT",
                   help="use another port for a component, e.g. --port prometheus=19090")  # fmt: skip
    u.add_argument("--rule-file", action="append", metavar="FILE",
                   help="load these rule files instead of the config's (repeatable)")  # fmt: skip
    u.add_argument("--flat-load", action="store_true", help="steady traffic instead of the oscillating wave")
    sub.add_parser("down", help="stop everything `workshop real up` started")
    sub.add_parser("status", help="show each component's state and health")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "up":
            for f in args.rule_file or []:
                if not Path(f).is_file():
                    raise SupervisorError(f"--rule-file {f}: no such file")
            return up(real_layout(args.port), args.rule_file, args.flat_load)
        home = supervisor.state_home() / "real"
        return down(home) if args.command == "down" else status(home)
    except SupervisorError as e:
        print(f"workshop real {args.command}: {e}", file=sys.stderr)
        return 1
