"""The Prometheus server: storage, scraping, the query engine and the web side, wired together.

``workshop prometheus --config.file=prometheus.yml`` runs it as its own process, with upstream's
flag names so its documentation applies; :class:`PrometheusServer` is the same thing as an object,
which ``workshop up`` and notebook simulations start inside their own event loop (on a virtual
clock, with an in-process transport and no HTTP listener).

Reloading follows upstream: SIGHUP (or ``POST /-/reload`` with ``--web.enable-lifecycle``) reads
the file again; a bad file is refused with its file:line error and the running config stays.
The rule manager and the notifier are applied first, because loading rule files can fail: a
reload with a broken rule file must change nothing at all. Further components that depend on the
config register a callback in :attr:`PrometheusServer.reloaders` and get every accepted config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from stack.clock import Clock, WallClock
from stack.config.duration import parse_duration_ms
from stack.config.prometheus import PrometheusConfig, load_config
from stack.config.yamlutil import ConfigError
from stack.notifier import AlertmanagerTarget, Notifier, Poster
from stack.remote.storage import WriteStorage
from stack.rules.manager import RuleManager, expand_rule_files
from stack.scrape import relabel
from stack.scrape.manager import ScrapeManager
from stack.scrape.metrics import ServerMetrics
from stack.scrape.transport import Transport

log = logging.getLogger("stack.prometheus")

# Upstream cmd/prometheus flag defaults (listen address: ours binds 127.0.0.1, safe by default).
DEFAULT_CONFIG_FILE = "prometheus.yml"
DEFAULT_LISTEN_ADDRESS = "127.0.0.1:9090"
DEFAULT_STORAGE_PATH = "data/"
DEFAULT_RETENTION = "15d"
DEFAULT_RETENTION_MS = 15 * 86_400_000
DEFAULT_LOOKBACK_DELTA = "5m"
DEFAULT_QUERY_TIMEOUT = "2m"
DEFAULT_QUERY_MAX_SAMPLES = 50_000_000


class StartupError(RuntimeError):
    """The server cannot start (port in use, storage unusable); the message says what to do."""


class PrometheusServer:
    """One Prometheus: ``await start()``, then it scrapes and serves until ``await stop()``."""

    def __init__(
        self,
        config_file: str | None = None,
        *,
        config: PrometheusConfig | None = None,
        clock: Clock | None = None,
        storage_path: str | None = None,
        transport: Transport | None = None,
        listen_address: str | None = DEFAULT_LISTEN_ADDRESS,
        enable_lifecycle: bool = False,
        enable_admin_api: bool = False,
        enable_remote_write_receiver: bool = False,
        retention_ms: int = DEFAULT_RETENTION_MS,
        lookback_delta_ms: int = 300_000,
        query_timeout_s: float = 120.0,
        query_max_samples: int = DEFAULT_QUERY_MAX_SAMPLES,
        external_url: str | None = None,
        alert_poster: Poster | None = None,
        flags: dict[str, str] | None = None,
    ):
        self.config_file = config_file
        self.config = (
            config
            if config is not None
            else (load_config(config_file) if config_file else PrometheusConfig())
        )
        self.clock = clock or WallClock()
        self.storage_path = storage_path
        self.transport = transport
        self.listen_address = listen_address
        self.retention_ms = retention_ms
        self.lookback_delta_ms = lookback_delta_ms
        self.query_timeout_s = query_timeout_s
        self.query_max_samples = query_max_samples
        self.flags: dict[str, str] = {
            "config.file": config_file or "",
            "web.listen-address": listen_address or "",
            "storage.tsdb.path": storage_path or "",
            "storage.tsdb.retention.time": _fmt_ms(retention_ms),
            "web.enable-lifecycle": _b(enable_lifecycle),
            "web.enable-admin-api": _b(enable_admin_api),
            "web.enable-remote-write-receiver": _b(enable_remote_write_receiver),
            "query.lookback-delta": _fmt_ms(lookback_delta_ms),
            "query.timeout": _fmt_ms(int(query_timeout_s * 1000)),
            "query.max-samples": str(query_max_samples),
            **(flags or {}),
        }
        self.metrics = ServerMetrics(process=not self.clock.is_virtual)
        self.registry = self.metrics.registry  # what /metrics serves
        self.tsdb: Any = None
        self.engine: Any = None
        self.scrape_manager: ScrapeManager | None = None
        self.rule_manager: RuleManager | None = None
        self.remote_write: WriteStorage | None = None
        self.notifier = Notifier(poster=alert_poster, registry=self.registry)
        self.external_url = external_url or _default_external_url(listen_address)
        self.reloaders: list[Callable[[PrometheusConfig], Any]] = []
        self.start_time: float | None = None
        self.reload_config_success = True
        self.last_config_time: float | None = None
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._shutdown: asyncio.Event | None = None
        self.metrics.add_head_gauges(
            lambda: getattr(self.tsdb, "num_series", 0) if self.tsdb is not None else 0
        )

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.start_time = self.clock.now()
        self._shutdown = asyncio.Event()
        self.tsdb = self._open_storage()
        self.engine = self._make_engine()
        # remote_write: tails the TSDB, so an unreachable receiver never blocks or loses a scrape
        self.remote_write = WriteStorage(self.tsdb, self.clock)
        self.reloaders.append(self.remote_write.apply_config)
        self.scrape_manager = ScrapeManager(
            self.tsdb, clock=self.clock, transport=self.transport, metrics=self.metrics
        )
        self.rule_manager = RuleManager(
            self.engine, self.tsdb, self.clock, notify=self.notifier.send, external_url=self.external_url
        )
        self.registry.register(self.rule_manager.collector)
        await self._apply(self.config)
        self.notifier.start()
        self.rule_manager.start()
        if self.config_file:
            log.info("Completed loading of configuration file", extra={"kv": {"filename": self.config_file}})
        if self.listen_address is not None:
            await self._serve_http()
            log.info("Listening on", extra={"kv": {"address": self.listen_address}})
        self.metrics.ready.set(1)
        log.info("Server is ready to receive web requests.")

    async def stop(self) -> None:
        self.metrics.ready.set(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.rule_manager is not None:
            await self.rule_manager.stop()
            with contextlib.suppress(KeyError):
                self.registry.unregister(self.rule_manager.collector)
        await self.notifier.stop()
        if self.scrape_manager is not None:
            await self.scrape_manager.stop()
        if self.remote_write is not None:
            await self.remote_write.stop()
        if self.tsdb is not None and hasattr(self.tsdb, "close"):
            self.tsdb.close()

    async def reload(self) -> None:
        """Re-read the config file; on a bad file raise ConfigError and keep running the old config."""
        log.info("Loading configuration file", extra={"kv": {"filename": self.config_file}})
        try:
            if self.config_file is None:
                raise ConfigError("no config file to reload (the server was started with a config object)")
            config = load_config(self.config_file)
        except ConfigError as e:
            self.reload_config_success = False
            self.metrics.config_last_reload_successful.set(0)
            log.error("Error reloading config", extra={"kv": {"err": str(e)}})
            raise
        await self._apply(config)
        log.info("Completed loading of configuration file", extra={"kv": {"filename": self.config_file}})

    async def apply_config(self, config: PrometheusConfig) -> None:
        """Switch to an already parsed config (what the Simulation uses instead of a file)."""
        await self._apply(config)

    def request_shutdown(self) -> None:
        """Ask :meth:`run_until_shutdown` to return (``/-/quit``, SIGTERM)."""
        if self._shutdown is not None:
            self._shutdown.set()

    async def run_until_shutdown(self) -> None:
        assert self._shutdown is not None, "start() first"
        await self._shutdown.wait()

    # --- helpers ---------------------------------------------------------------------------
    async def _apply(self, config: PrometheusConfig) -> None:
        assert self.scrape_manager is not None
        self._apply_rules(config)  # first: a bad rule file raises before anything has changed
        await self.scrape_manager.apply_config(config)
        for reloader in list(self.reloaders):
            result = reloader(config)
            if inspect.isawaitable(result):
                await result
        self.config = config
        self.reload_config_success = True
        self.last_config_time = self.clock.now()
        self.metrics.config_last_reload_successful.set(1)
        self.metrics.config_last_reload_success_timestamp.set(self.last_config_time)

    def _apply_rules(self, config: PrometheusConfig) -> None:
        external_labels = dict(config.global_.external_labels)
        if self.rule_manager is not None:
            self.rule_manager.update(
                expand_rule_files(config.rule_files),
                evaluation_interval_ms=config.global_.evaluation_interval_ms,
                query_offset_ms=config.global_.rule_query_offset_ms,
                external_labels=external_labels,
            )
        rules = config.alerting.alert_relabel_configs
        self.notifier.apply_config(
            alertmanager_targets(config),
            external_labels,
            relabel=(lambda labels: relabel.process(labels, rules)) if rules else None,
        )

    def _open_storage(self) -> Any:
        if self.storage_path:
            try:
                from stack.tsdb.db import DB
            except ImportError:
                DB = None  # noqa: N806 - the persistent storage is optional until it lands
            if DB is not None:
                try:
                    return DB.open(self.storage_path, retention_ms=self.retention_ms, clock=self.clock)
                except Exception as e:  # noqa: BLE001 - locked, unreadable or corrupt: say so, no traceback
                    detail = e.strerror if isinstance(e, OSError) and e.strerror else e
                    raise StartupError(f"opening storage failed: {self.storage_path}: {detail}") from None
        from stack.tsdb import Head

        return Head()

    def _make_engine(self) -> Any:
        try:
            from stack.promql import Engine
        except ImportError:
            return None
        return Engine(
            self.tsdb,
            lookback_delta_ms=self.lookback_delta_ms,
            timeout_s=self.query_timeout_s,
            max_samples=self.query_max_samples,
        )

    async def _serve_http(self) -> None:
        host, _, port = self.listen_address.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        try:
            from stack.web import create_app
        except ImportError:
            create_app = _minimal_app
        self._runner = web.AppRunner(create_app(self), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, int(port))
        try:
            await site.start()
        except OSError as e:
            await self._runner.cleanup()
            self._runner = None
            reason = "address already in use" if e.errno == 98 else (e.strerror or str(e))
            raise StartupError(f"listen tcp {self.listen_address}: bind: {reason}") from None
        bound = site._server.sockets[0].getsockname()[1] if site._server and site._server.sockets else port
        self.url = f"http://{host}:{bound}"


def _minimal_app(server: PrometheusServer) -> web.Application:
    """Health, readiness and /metrics, for when stack.web is not installed."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def healthy(_r):
        return web.Response(text="Prometheus Server is Healthy.\n")

    async def ready(_r):
        return web.Response(text="Prometheus Server is Ready.\n")

    async def metrics(_r):
        return web.Response(
            body=generate_latest(server.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app


# --- the command -------------------------------------------------------------------------------


def alertmanager_targets(config: PrometheusConfig) -> list[AlertmanagerTarget]:
    """Where alerts go: every static target of every ``alerting.alertmanagers`` entry."""
    return [
        AlertmanagerTarget(target, am.scheme, am.path_prefix, am.timeout_ms / 1000)
        for am in config.alerting.alertmanagers
        for sc in am.static_configs
        for target in sc.targets
    ]


def _default_external_url(listen_address: str | None) -> str:
    """Upstream's default --web.external-url: http://<hostname>:<listen port>."""
    port = (listen_address or ":9090").rpartition(":")[2] or "9090"
    return f"http://{socket.gethostname()}:{port}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workshop prometheus", description="The in-package Prometheus server.")
    p.add_argument(
        "--config.file",
        dest="config_file",
        default=DEFAULT_CONFIG_FILE,
        help="Prometheus configuration file path.",
    )
    p.add_argument(
        "--web.listen-address",
        dest="listen_address",
        default=DEFAULT_LISTEN_ADDRESS,
        help="Address to listen on for UI, API, and telemetry.",
    )
    p.add_argument(
        "--storage.tsdb.path",
        dest="storage_path",
        default=DEFAULT_STORAGE_PATH,
        help="Base path for metrics storage.",
    )
    p.add_argument(
        "--storage.tsdb.retention.time",
        dest="retention",
        default=DEFAULT_RETENTION,
        help="How long to retain samples in storage.",
    )
    p.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="Enable shutdown and reload via HTTP request.",
    )
    p.add_argument(
        "--web.enable-admin-api",
        dest="enable_admin_api",
        action="store_true",
        help="Enable API endpoints for admin control actions.",
    )
    p.add_argument(
        "--web.enable-remote-write-receiver",
        dest="enable_remote_write_receiver",
        action="store_true",
        help="Enable API endpoint accepting remote write requests.",
    )
    p.add_argument(
        "--query.lookback-delta",
        dest="lookback_delta",
        default=DEFAULT_LOOKBACK_DELTA,
        help="The maximum lookback duration for retrieving metrics during expression evaluations.",
    )
    p.add_argument(
        "--query.timeout",
        dest="query_timeout",
        default=DEFAULT_QUERY_TIMEOUT,
        help="Maximum time a query may take before being aborted.",
    )
    p.add_argument(
        "--query.max-samples",
        dest="query_max_samples",
        type=int,
        default=DEFAULT_QUERY_MAX_SAMPLES,
        help="Maximum number of samples a single query can load into memory.",
    )
    p.add_argument(
        "--web.external-url",
        dest="external_url",
        default=None,
        help="The URL under which Prometheus is externally reachable (for generator URLs in alerts).",
    )
    p.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=("debug", "info", "warn", "error"),
        help="Only log messages with the given severity or above.",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    try:
        retention_ms = parse_duration_ms(args.retention)
        lookback_ms = parse_duration_ms(args.lookback_delta)
        timeout_ms = parse_duration_ms(args.query_timeout)
    except ValueError as e:
        print(f"workshop prometheus: {e}", file=sys.stderr)
        return 2
    log.info("Starting Prometheus Server (workshop kit)")
    try:
        config = load_config(args.config_file)
        RuleManager.load_files(expand_rule_files(config.rule_files))  # a broken rule file stops start-up
    except ConfigError as e:
        print(f'error loading config from "{args.config_file}": {e}', file=sys.stderr)
        return 1
    flags = {
        "log.level": args.log_level,
        "storage.tsdb.retention.time": args.retention,
        "query.lookback-delta": args.lookback_delta,
        "query.timeout": args.query_timeout,
    }
    server = PrometheusServer(
        args.config_file,
        config=config,
        storage_path=args.storage_path,
        listen_address=args.listen_address,
        enable_lifecycle=args.enable_lifecycle,
        enable_admin_api=args.enable_admin_api,
        enable_remote_write_receiver=args.enable_remote_write_receiver,
        retention_ms=retention_ms,
        lookback_delta_ms=lookback_ms,
        query_timeout_s=timeout_ms / 1000,
        query_max_samples=args.query_max_samples,
        external_url=args.external_url,
        flags=flags,
    )
    try:
        return asyncio.run(_serve(server))
    except StartupError as e:
        print(f"workshop prometheus: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


async def _serve(server: PrometheusServer) -> int:
    loop = asyncio.get_running_loop()
    await server.start()

    async def reload_from_signal() -> None:
        with contextlib.suppress(ConfigError):  # logged by reload(); the running config stays
            await server.reload()

    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload_from_signal()))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_shutdown)
    try:
        await server.run_until_shutdown()
        log.warning("Received shutdown request, exiting gracefully...")
    finally:
        await server.stop()
        log.info("See you next time!")
    return 0


class _LogfmtFormatter(logging.Formatter):
    """Upstream's log line shape: ``time=… level=INFO source=… msg="…" key="value"…``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        fields = {
            "time": ts,
            "level": record.levelname,
            "source": record.name,
            "msg": record.getMessage(),
            **getattr(record, "kv", {}),
        }
        line = " ".join(f"{k}={_logfmt_value(str(v))}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _logfmt_value(v: str) -> str:
    if v and not any(c in v for c in ' "=\n'):
        return v
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _fmt_ms(ms: int) -> str:
    from stack.config.duration import format_duration_ms

    return format_duration_ms(ms)


def _b(v: bool) -> str:
    return "true" if v else "false"


if __name__ == "__main__":
    sys.exit(main())
