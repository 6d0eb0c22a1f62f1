"""The ``workshop`` command: one entry point that dispatches to each component's own ``main``.

Component commands mirror the real binaries' names and flags (``workshop prometheus
--config.file=...``) so the upstream documentation applies unchanged. Each entry below names the
module that implements it; the module is imported only when its command runs, which keeps
``workshop status`` instant and lets a broken optional component not take the others down.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module with a ``main(argv: list[str]) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    # the participant and instructor layer
    "up": ("workshop.supervisor", "start the demo stack in the background and wait until it is up"),
    "down": ("workshop.supervisor", "stop everything `workshop up` started"),
    "status": ("workshop.supervisor", "show each component's state, pid, URL and log folder"),
    "demo": ("workshop.supervisor", "run the demo stack in the foreground until Ctrl-C"),
    "lab": ("workshop.supervisor", "start the stack if needed, then JupyterLab on notebooks/"),
    "load": ("toyservice.loadgen", "drive oscillating traffic against toy service instances"),
    "fault": ("toyservice.faults", "inject a fault (latency|errors|down) into a toy service"),
    "toyservice": ("toyservice.main", "run one toy service instance"),
    "inbox": ("workshop.inbox", "run the notification inbox (an Alertmanager webhook receiver)"),
    "real": ("workshop.real", "run the real Prometheus binaries with the same configs (up|down|status)"),
    "notebooks": ("workshop.notebooks", "generate the participant notebooks from the chapter sources"),
    "dashboards": ("workshop.dashboards.export", "write the shipped dashboards as Grafana JSON (export)"),
    # the in-package stack, named after the upstream binaries
    "prometheus": ("stack.prometheus", "the in-package Prometheus server"),
    "alertmanager": ("stack.alertmanager.main", "the in-package Alertmanager"),
    "pushgateway": ("stack.pushgateway.main", "the in-package Pushgateway"),
    "node-exporter": ("stack.node_exporter.main", "the in-package node exporter"),
    "promtool": ("stack.promtool.main", "check configs and rules, unit-test rules, backfill blocks"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: workshop <command> [args...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"workshop: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    # Modules serving several commands (the supervisor) get the command name as well.
    if getattr(module, "MULTI_COMMAND", False):
        return int(module.main([name, *rest]) or 0)
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
