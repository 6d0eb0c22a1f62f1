"""``workshop toyservice``: run one toy service instance until Ctrl-C or SIGTERM.

    workshop toyservice --listen 127.0.0.1:8080 [--uninstrumented] [--seed N] [--name foo]
                        [--enable-faults] [--outage-every 10m] [--outage-for 2m] [--outage-offset 0s]
                        [--pushgateway 127.0.0.1:9091]

With ``--pushgateway`` the (instrumented) service's batch job pushes its results there after every
run, under job="toyservice_batch", instance=<--name>.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from toyservice.durations import parse_duration
from toyservice.instrumented import InstrumentedToyService
from toyservice.model import ModelConfig
from toyservice.push import gateway_pusher
from toyservice.uninstrumented import ToyService

DEFAULT_LISTEN = "127.0.0.1:8080"


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); raises ValueError naming the address."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a host:port address: {address!r} (expected e.g. 127.0.0.1:8080)")
    return host, int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workshop toyservice", description="Run one toy service instance.")
    p.add_argument("--listen", default=DEFAULT_LISTEN, help="host:port (default %(default)s)")
    p.add_argument("--uninstrumented", action="store_true", help="the exercise version, without /metrics")
    p.add_argument("--seed", type=int, default=0, help="seed of the latency/error model")
    p.add_argument("--name", default="toyservice", help="instance name used in logs")
    p.add_argument("--enable-faults", action="store_true", help="enable the /admin/fault API")
    p.add_argument("--outage-every", default="10m", help="an outage starts this often (0 disables)")
    p.add_argument("--outage-for", default="2m", help="and lasts this long")
    p.add_argument("--outage-offset", default="0s", help="shift of the outage cycle")
    p.add_argument("--pushgateway", metavar="HOST:PORT",
                   help="push the batch job's results to this Pushgateway after every run")  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        host, port = split_address(args.listen)
        config = ModelConfig(
            outage_every=parse_duration(args.outage_every),
            outage_for=parse_duration(args.outage_for),
            outage_offset=parse_duration(args.outage_offset),
        )
        if args.pushgateway is not None:
            split_address(args.pushgateway)
            if args.uninstrumented:
                raise ValueError("--pushgateway needs the instrumented service (it pushes its metrics)")
    except ValueError as e:
        parser.error(str(e))
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.name} %(levelname)s %(message)s")
    options = dict(name=args.name, seed=args.seed, config=config, enable_faults=args.enable_faults)
    if args.uninstrumented:
        service = ToyService(**options)
    else:
        pusher = gateway_pusher(args.pushgateway) if args.pushgateway else None
        service = InstrumentedToyService(pusher=pusher, **options)
    try:
        asyncio.run(_serve(service, host, port))
    except OSError as e:
        print(f"workshop toyservice: cannot listen on {args.listen}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


async def _serve(service: ToyService, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start(host, port)
    kind = "instrumented" if hasattr(service, "registry") else "uninstrumented"
    logging.info("%s toy service listening on http://%s:%d", kind, host, port)
    try:
        await stop.wait()
    finally:
        await service.stop()
