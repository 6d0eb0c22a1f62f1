"""``workshop pushgateway``: run the Pushgateway in its own process, with upstream's flag names.

    workshop pushgateway --web.listen-address=127.0.0.1:9091 [--persistence.file=F]
                         [--persistence.interval=5m] [--web.enable-admin-api] [--web.enable-lifecycle]

SIGINT/SIGTERM (or PUT /-/quit with --web.enable-lifecycle) stop it cleanly, which writes the
persistence file one last time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys

from stack.pushgateway.server import DEFAULT_PERSISTENCE_INTERVAL, Pushgateway

DEFAULT_LISTEN_ADDRESS = "127.0.0.1:9091"  # upstream listens on :9091; we stay on loopback by default
_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def parse_duration(s: str) -> float:
    """A Prometheus duration such as ``5m`` or ``1h30m`` in seconds."""
    m = _DURATION_RE.match(s)
    if not s or not m or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"not a valid duration: {s!r} (examples: 30s, 5m, 1h)")
    return sum(int(g) * unit for g, unit in zip(m.groups(), _UNIT_SECONDS, strict=True) if g)


def parse_listen_address(s: str) -> tuple[str, int]:
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"listen address must be HOST:PORT, got {s!r}")
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workshop pushgateway", description="The in-package Pushgateway.")
    p.add_argument("--web.listen-address", dest="listen", type=parse_listen_address,
                   default=parse_listen_address(DEFAULT_LISTEN_ADDRESS), metavar="HOST:PORT",
                   help=f"address to listen on (default {DEFAULT_LISTEN_ADDRESS})")
    p.add_argument("--persistence.file", dest="persistence_file", default="",
                   help="file to persist metrics to; empty keeps them in memory only")
    p.add_argument("--persistence.interval", dest="persistence_interval", type=parse_duration,
                   default=DEFAULT_PERSISTENCE_INTERVAL, help="minimum interval between writes (default 5m)")
    p.add_argument("--web.enable-admin-api", dest="admin", action="store_true",
                   help="enable PUT /api/v1/admin/wipe")
    p.add_argument("--web.enable-lifecycle", dest="lifecycle", action="store_true",
                   help="enable shutdown via PUT/POST /-/quit")
    p.add_argument("--log.level", dest="log_level", default="info",
                   choices=["debug", "info", "warn", "error"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper().replace("WARN", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    host, port = args.listen
    flags = {
        "web.listen-address": f"{host}:{port}",
        "persistence.file": args.persistence_file,
        "persistence.interval": f"{args.persistence_interval:g}s",
        "web.enable-admin-api": str(args.admin).lower(),
        "web.enable-lifecycle": str(args.lifecycle).lower(),
    }
    pg = Pushgateway(host, port, persistence_file=args.persistence_file or None,
                     persistence_interval=args.persistence_interval, enable_admin_api=args.admin,
                     enable_lifecycle=args.lifecycle, flags=flags)
    try:
        await pg.start()
    except OSError as e:
        print(f"workshop pushgateway: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pg.quit_requested.set)
    try:
        await pg.quit_requested.wait()
    finally:
        await pg.stop()
    return 0
