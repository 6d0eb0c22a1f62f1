"""``workshop alertmanager``: the in-package Alertmanager as its own process, flags as upstream.

    workshop alertmanager --config.file=alertmanager.yml --web.listen-address=127.0.0.1:9093 \\
        --storage.path=data/ [--web.external-url=URL] [--data.retention=120h]

Binds 127.0.0.1 unless told otherwise (upstream's default is all interfaces). Clustering is not
implemented; ``--cluster.listen-address`` is accepted so upstream command lines work, and the
status API reports the cluster as "disabled" as a lone real Alertmanager started with
``--cluster.listen-address=`` does. SIGHUP or ``POST /-/reload`` re-reads the config; a bad file
keeps the running one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from stack.alertmanager.alertmanager import Alertmanager
from stack.alertmanager.silence import StateError
from stack.config.duration import parse_duration
from stack.config.yamlutil import ConfigError

DEFAULT_LISTEN = "127.0.0.1:9093"  # upstream listens on :9093; we stay on loopback by default
DEFAULT_STORAGE = "data/"          # upstream --storage.path default


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="workshop alertmanager", description="the in-package Alertmanager")
    p.add_argument("--config.file", dest="config_file", default="alertmanager.yml")
    p.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN)
    p.add_argument("--storage.path", dest="storage", default=DEFAULT_STORAGE)
    p.add_argument("--web.external-url", dest="external_url", default="")
    p.add_argument("--data.retention", dest="retention", default="120h")
    p.add_argument("--cluster.listen-address", dest="cluster", default="")
    p.add_argument("--log.level", dest="log_level", default="info",
                   choices=["debug", "info", "warn", "error"])
    return p.parse_args(argv)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "0.0.0.0"), int(port)


async def serve(am: Alertmanager, host: str, port: int) -> web.AppRunner:
    """Start the API on host:port; the caller cleans up the returned runner."""
    runner = web.AppRunner(am.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper().replace("WARN", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        host, port = split_address(args.listen)
        retention = parse_duration(args.retention)
    except ValueError as e:
        print(f"alertmanager: bad flag value: {e}", file=sys.stderr)
        return 2
    external = args.external_url or f"http://{socket.gethostname()}:{port}"
    try:
        Path(args.storage).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"alertmanager: cannot use --storage.path={args.storage}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        am = Alertmanager(args.config_file, storage_path=args.storage, external_url=external,
                          retention=retention)
    except ConfigError as e:
        print(f"alertmanager: loading configuration file failed: {e}", file=sys.stderr)
        return 1
    except StateError as e:
        print(f"alertmanager: {e}", file=sys.stderr)
        return 1
    if args.cluster:
        logging.getLogger("stack.alertmanager").warning("clustering is not supported; running alone")
    try:
        asyncio.run(_run(am, host, port))
    except OSError as e:
        print(f"alertmanager: cannot listen on {args.listen}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


async def _run(am: Alertmanager, host: str, port: int) -> None:
    log = logging.getLogger("stack.alertmanager")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def on_hup() -> None:
        try:
            am.reload()
            log.info("configuration reloaded")
        except ConfigError as e:
            log.error("reload failed, keeping the running config: %s", e)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    await am.start()
    runner = await serve(am, host, port)
    log.info("listening on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await am.stop()
