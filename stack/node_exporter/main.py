"""``workshop node-exporter``: host metrics with upstream's names, flags as upstream's.

workshop node-exporter --web.listen-address=127.0.0.1:9100 [--collector.textfile.directory=DIR]
                       [--collector.disable-defaults] [--collector.cpu] [--no-collector.diskstats] ...
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from stack.node_exporter.collector import Paths
from stack.node_exporter.diskstats import DEFAULT_DEVICE_EXCLUDE
from stack.node_exporter.exporter import COLLECTORS, NodeExporter, build_collectors
from stack.node_exporter.filesystem import DEFAULT_FS_TYPES_EXCLUDE, DEFAULT_MOUNT_POINTS_EXCLUDE

DEFAULT_LISTEN_ADDRESS = "127.0.0.1:9100"  # upstream listens on :9100; we stay on loopback by default


def _listen_address(s: str) -> tuple[str, int]:
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"listen address must be HOST:PORT, got {s!r}")
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workshop node-exporter", description="The in-package node exporter.")
    p.add_argument(
        "--web.listen-address",
        dest="listen",
        type=_listen_address,
        default=_listen_address(DEFAULT_LISTEN_ADDRESS),
        metavar="HOST:PORT",
    )
    p.add_argument("--path.procfs", dest="procfs", default="/proc")
    p.add_argument("--path.sysfs", dest="sysfs", default="/sys")
    p.add_argument("--path.rootfs", dest="rootfs", default="/")
    p.add_argument(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="start with no collector enabled; enable them with --collector.<name>",
    )
    for name in COLLECTORS:
        p.add_argument(
            f"--collector.{name}",
            dest=f"c_{name}",
            action="store_const",
            const=True,
            default=None,
            help=f"enable the {name} collector (default: enabled)",
        )
        p.add_argument(f"--no-collector.{name}", dest=f"c_{name}", action="store_const", const=False)
    p.add_argument(
        "--collector.textfile.directory",
        dest="textfile_directory",
        default="",
        help="directory to read *.prom files from",
    )
    p.add_argument(
        "--collector.filesystem.mount-points-exclude",
        dest="mount_points_exclude",
        default=DEFAULT_MOUNT_POINTS_EXCLUDE,
    )
    p.add_argument(
        "--collector.filesystem.fs-types-exclude", dest="fs_types_exclude", default=DEFAULT_FS_TYPES_EXCLUDE
    )
    p.add_argument(
        "--collector.diskstats.device-exclude", dest="disk_exclude", default=DEFAULT_DEVICE_EXCLUDE
    )
    p.add_argument("--collector.netdev.device-include", dest="net_include", default="")
    p.add_argument("--collector.netdev.device-exclude", dest="net_exclude", default="")
    p.add_argument(
        "--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"]
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper().replace("WARN", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    enabled = [
        n
        for n in COLLECTORS
        if getattr(args, f"c_{n}") or (getattr(args, f"c_{n}") is None and not args.disable_defaults)
    ]
    options = {
        "textfile": {"directory": args.textfile_directory},
        "filesystem": {
            "mount_points_exclude": args.mount_points_exclude,
            "fs_types_exclude": args.fs_types_exclude,
        },
        "diskstats": {"device_exclude": args.disk_exclude},
        "netdev": {"device_include": args.net_include, "device_exclude": args.net_exclude},
    }
    try:
        collector = build_collectors(enabled, Paths(args.procfs, args.sysfs, args.rootfs), options=options)
    except Exception as e:  # noqa: BLE001 - a bad flag (regex, exclusive options) is a user mistake
        print(f"workshop node-exporter: {e}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(NodeExporter(*args.listen, collector=collector)))


async def _serve(exporter: NodeExporter) -> int:
    try:
        await exporter.start()
    except OSError as e:
        print(f"workshop node-exporter: cannot listen on {exporter.url}: {e.strerror or e}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await exporter.stop()
    return 0
