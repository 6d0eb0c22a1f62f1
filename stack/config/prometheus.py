"""prometheus.yml: the typed model of the server's configuration, with upstream's defaults and checks.

Participants copy snippets from the Prometheus documentation into this file, so it must accept what
upstream accepts, default what upstream defaults, and reject what upstream rejects — with the
file and line of the mistake (``prometheus.yml:7: field scrape_intervall not found in type
scrape_config``), because a config error is the most common first stumble in the workshop.

Sections the scrape layer uses are parsed into dataclasses (:class:`ScrapeConfig` and friends).
Sections other components own (alerting, remote write/read) are typed here as well so that a bad
key is caught at load time, while ``storage``, ``tracing``, ``otlp`` and ``runtime`` are kept as
validated raw mappings for their future owners. Defaults and their origin are in the constants.

Deliberate deviation: label names are validated with the classic charset ``[a-zA-Z_][a-zA-Z0-9_]*``
(as Prometheus 2.x does) rather than 3.x's UTF-8 names, so configs stay valid for the real 2.42
binaries the interop tests run.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Any

from stack.config.yamlutil import (
    Mapping,
    check_keys,
    empty_mapping,
    get_bool,
    get_duration_ms,
    get_list,
    get_size,
    get_string_list,
    get_uint,
    load_yaml,
)
from stack.scrape.relabel import LABEL_NAME_RE, RelabelConfig, parse_relabel_configs


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Upstream config.DefaultGlobalConfig / DefaultScrapeConfig / discovery/file defaults.
DEFAULT_SCRAPE_INTERVAL_MS = 60_000  # global.scrape_interval: 1m
DEFAULT_SCRAPE_TIMEOUT_MS = 10_000  # global.scrape_timeout: 10s (capped at the interval)
DEFAULT_EVALUATION_INTERVAL_MS = 60_000  # global.evaluation_interval: 1m
DEFAULT_METRICS_PATH = "/metrics"
DEFAULT_SCHEME = "http"
DEFAULT_FILE_SD_REFRESH_MS = 300_000  # file_sd_configs.refresh_interval: 5m
DEFAULT_ALERTMANAGER_TIMEOUT_MS = 10_000  # alertmanager_config.timeout: 10s
DEFAULT_REMOTE_WRITE_TIMEOUT_MS = 30_000  # remote_write.remote_timeout: 30s
DEFAULT_REMOTE_READ_TIMEOUT_MS = 60_000  # remote_read.remote_timeout: 1m
# scrape_protocols offered by default, best first (Prometheus 3 config.DefaultScrapeProtocols).
SCRAPE_PROTOCOLS = {
    "OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8",
    "OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
    "PrometheusText1.0.0": "text/plain;version=1.0.0;escaping=allow-utf-8",
    "PrometheusText0.0.4": "text/plain;version=0.0.4",
    "PrometheusProto": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited",
}
DEFAULT_SCRAPE_PROTOCOLS = (
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
)
# Discovery mechanisms upstream has and we do not: named in the error instead of "field not found".
_UNSUPPORTED_SD = _words(
    "azure consul digitalocean docker dockerswarm dns ec2 eureka gce hetzner http ionos kubernetes kuma "
    "lightsail linode marathon nerve nomad openstack ovhcloud puppetdb scaleway serverset triton uyuni "
    "vultr stackit"
)
_UNSUPPORTED_SD_KEYS = tuple(f"{n}_sd_configs" for n in _UNSUPPORTED_SD)

_HTTP_CLIENT_KEYS = _words(
    "basic_auth authorization bearer_token bearer_token_file tls_config proxy_url no_proxy "
    "proxy_from_environment proxy_connect_header follow_redirects enable_http2 oauth2 http_headers"
)
_LIMIT_KEYS = _words(
    "body_size_limit sample_limit label_limit label_name_length_limit label_value_length_limit "
    "target_limit keep_dropped_targets"
)
_GLOBAL_KEYS = _words(
    "scrape_interval scrape_timeout scrape_protocols evaluation_interval rule_query_offset "
    "external_labels query_log_file scrape_failure_log_file metric_name_validation_scheme "
    "metric_name_escaping_scheme always_scrape_classic_histograms convert_classic_histograms_to_nhcb "
    "scrape_native_histograms"
) + _LIMIT_KEYS
_SCRAPE_KEYS = _words(
    "job_name honor_labels honor_timestamps track_timestamps_staleness params scrape_interval "
    "scrape_timeout scrape_protocols fallback_scrape_protocol enable_compression metrics_path scheme "
    "static_configs file_sd_configs relabel_configs metric_relabel_configs extra_scrape_metrics "
    "scrape_failure_log_file metric_name_validation_scheme metric_name_escaping_scheme "
    "always_scrape_classic_histograms convert_classic_histograms_to_nhcb scrape_native_histograms "
    "native_histogram_bucket_limit native_histogram_min_bucket_factor scrape_classic_histograms"
) + _LIMIT_KEYS + _HTTP_CLIENT_KEYS + _UNSUPPORTED_SD_KEYS
_TOP_KEYS = _words(
    "global runtime alerting rule_files scrape_config_files scrape_configs storage tracing remote_write "
    "remote_read otlp"
)


@dataclass(frozen=True)
class TLSConfig:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class HTTPClientConfig:
    """How to talk to a target, Alertmanager or remote endpoint (upstream common/config)."""

    basic_auth: tuple[str, str] | None = None  # (username, password)
    authorization: tuple[str, str] | None = None  # (type, credentials)
    tls_config: TLSConfig | None = None
    follow_redirects: bool = True
    enable_http2: bool = True
    headers: tuple[tuple[str, str], ...] = ()

    def auth_headers(self) -> dict[str, str]:
        """Request headers for the configured credentials (empty when none)."""
        import base64

        out = dict(self.headers)
        if self.basic_auth:
            token = base64.b64encode(f"{self.basic_auth[0]}:{self.basic_auth[1]}".encode()).decode()
            out["Authorization"] = f"Basic {token}"
        elif self.authorization:
            out["Authorization"] = f"{self.authorization[0]} {self.authorization[1]}"
        return out


@dataclass(frozen=True)
class StaticConfig:
    targets: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FileSDConfig:
    files: tuple[str, ...]  # globs, resolved against the config file's folder
    refresh_interval_ms: int = DEFAULT_FILE_SD_REFRESH_MS


@dataclass(frozen=True)
class GlobalConfig:
    scrape_interval_ms: int = DEFAULT_SCRAPE_INTERVAL_MS
    scrape_timeout_ms: int = DEFAULT_SCRAPE_TIMEOUT_MS
    evaluation_interval_ms: int = DEFAULT_EVALUATION_INTERVAL_MS
    rule_query_offset_ms: int = 0
    external_labels: tuple[tuple[str, str], ...] = ()
    scrape_protocols: tuple[str, ...] = DEFAULT_SCRAPE_PROTOCOLS
    query_log_file: str = ""
    limits: tuple[tuple[str, int], ...] = ()  # the *_limit defaults every job inherits


@dataclass(frozen=True)
class ScrapeConfig:
    """One ``scrape_configs`` entry: a job, which is also the name of its scrape pool."""

    job_name: str
    scrape_interval_ms: int
    scrape_timeout_ms: int
    metrics_path: str = DEFAULT_METRICS_PATH
    scheme: str = DEFAULT_SCHEME
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()
    honor_labels: bool = False
    honor_timestamps: bool = True
    track_timestamps_staleness: bool = False
    enable_compression: bool = True
    extra_scrape_metrics: bool = False
    scrape_protocols: tuple[str, ...] = DEFAULT_SCRAPE_PROTOCOLS
    fallback_scrape_protocol: str = ""
    body_size_limit: int = 0
    sample_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0
    target_limit: int = 0
    keep_dropped_targets: int = 0
    static_configs: tuple[StaticConfig, ...] = ()
    file_sd_configs: tuple[FileSDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)

    @property
    def accept_header(self) -> str:
        """The Accept header built from scrape_protocols, weights decreasing by 0.1 (upstream)."""
        n = len(SCRAPE_PROTOCOLS)
        parts = [f"{SCRAPE_PROTOCOLS[p]};q=0.{n + 1 - i}" for i, p in enumerate(self.scrape_protocols)]
        parts.append(f"*/*;q=0.{n + 1 - len(self.scrape_protocols)}")
        return ",".join(parts)


@dataclass(frozen=True)
class AlertmanagerConfig:
    scheme: str = DEFAULT_SCHEME
    path_prefix: str = "/"
    timeout_ms: int = DEFAULT_ALERTMANAGER_TIMEOUT_MS
    api_version: str = "v2"
    static_configs: tuple[StaticConfig, ...] = ()
    file_sd_configs: tuple[FileSDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    alert_relabel_configs: tuple[RelabelConfig, ...] = ()
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)


@dataclass(frozen=True)
class AlertingConfig:
    alert_relabel_configs: tuple[RelabelConfig, ...] = ()
    alertmanagers: tuple[AlertmanagerConfig, ...] = ()


@dataclass(frozen=True)
class RemoteWriteConfig:
    url: str
    name: str = ""
    remote_timeout_ms: int = DEFAULT_REMOTE_WRITE_TIMEOUT_MS
    write_relabel_configs: tuple[RelabelConfig, ...] = ()
    queue_config: Any = None  # validated Mapping; the remote-write owner types it
    metadata_config: Any = None
    send_exemplars: bool = False
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)


@dataclass(frozen=True)
class RemoteReadConfig:
    url: str
    name: str = ""
    remote_timeout_ms: int = DEFAULT_REMOTE_READ_TIMEOUT_MS
    read_recent: bool = False
    required_matchers: tuple[tuple[str, str], ...] = ()
    filter_external_labels: bool = True
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)


@dataclass(frozen=True)
class PrometheusConfig:
    """A whole prometheus.yml. ``raw`` keeps the loaded YAML (for /api/v1/status/config)."""

    global_: GlobalConfig = field(default_factory=GlobalConfig)
    scrape_configs: tuple[ScrapeConfig, ...] = ()
    rule_files: tuple[str, ...] = ()  # globs, resolved against the config file's folder
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    remote_write: tuple[RemoteWriteConfig, ...] = ()
    remote_read: tuple[RemoteReadConfig, ...] = ()
    storage: Any = None
    filename: str | None = field(default=None, compare=False)
    raw: Any = field(default=None, compare=False, repr=False)

    def scrape_config(self, job_name: str) -> ScrapeConfig | None:
        return next((c for c in self.scrape_configs if c.job_name == job_name), None)


def load_config(path: str) -> PrometheusConfig:
    """Load and validate a prometheus.yml file; raises ConfigError naming file:line."""
    return parse_config(load_yaml(path), base_dir=os.path.dirname(os.path.abspath(path)), filename=path)


def parse_config_text(text: str, filename: str = "prometheus.yml", base_dir: str = ".") -> PrometheusConfig:
    return parse_config(load_yaml(filename, text), base_dir=base_dir, filename=filename)


def parse_config(doc: Any, base_dir: str = ".", filename: str | None = None) -> PrometheusConfig:
    check_keys(doc, _TOP_KEYS, "config")
    g = _parse_global(doc.get("global") or empty_mapping(doc, "global"))
    nodes = [(m, base_dir) for m in get_list(doc, "scrape_configs")]
    for pattern in get_string_list(doc, "scrape_config_files"):
        for path in sorted(glob.glob(_resolve(base_dir, pattern))):
            extra = load_yaml(path)
            check_keys(extra, ("scrape_configs",), "scrape_config_files")
            nodes += [(m, os.path.dirname(path)) for m in get_list(extra, "scrape_configs")]
    jobs = []
    for m, folder in nodes:
        job = _parse_scrape_config(m, g, folder)
        if any(j.job_name == job.job_name for j in jobs):
            raise m.error(f'found multiple scrape configs with job name "{job.job_name}"', "job_name")
        jobs.append(job)
    rule_files = []
    for pattern in get_string_list(doc, "rule_files"):
        if os.path.dirname(pattern) and any(c in os.path.dirname(pattern) for c in "*?["):
            raise doc.error(
                f'invalid rule file path "{pattern}": glob only allowed in the last element', "rule_files"
            )
        rule_files.append(_resolve(base_dir, pattern))
    storage = doc.get("storage")
    if storage is not None:
        check_keys(storage, ("tsdb", "exemplars"), "storage")
    return PrometheusConfig(
        global_=g,
        scrape_configs=tuple(jobs),
        rule_files=tuple(rule_files),
        alerting=_parse_alerting(doc.get("alerting"), base_dir),
        remote_write=tuple(_parse_remote_write(m) for m in get_list(doc, "remote_write")),
        remote_read=tuple(_parse_remote_read(m) for m in get_list(doc, "remote_read")),
        storage=storage,
        filename=filename,
        raw=doc,
    )


# --- sections --------------------------------------------------------------------------------


def _parse_global(m: Mapping) -> GlobalConfig:
    check_keys(m, _GLOBAL_KEYS, "global_config")
    interval = get_duration_ms(m, "scrape_interval", DEFAULT_SCRAPE_INTERVAL_MS) or DEFAULT_SCRAPE_INTERVAL_MS
    if "scrape_timeout" in m:
        timeout = get_duration_ms(m, "scrape_timeout", DEFAULT_SCRAPE_TIMEOUT_MS)
        if timeout > interval:
            raise m.error("global scrape timeout greater than scrape interval", "scrape_timeout")
    else:
        timeout = min(DEFAULT_SCRAPE_TIMEOUT_MS, interval)
    return GlobalConfig(
        scrape_interval_ms=interval,
        scrape_timeout_ms=timeout,
        evaluation_interval_ms=get_duration_ms(m, "evaluation_interval", DEFAULT_EVALUATION_INTERVAL_MS)
        or DEFAULT_EVALUATION_INTERVAL_MS,
        rule_query_offset_ms=get_duration_ms(m, "rule_query_offset", 0),
        external_labels=_label_set(m, "external_labels"),
        scrape_protocols=_protocols(m),
        query_log_file=str(m.get("query_log_file") or ""),
        limits=tuple(
            (k, get_size(m, k) if k == "body_size_limit" else get_uint(m, k)) for k in _LIMIT_KEYS if k in m
        ),
    )


def _parse_scrape_config(m: Any, g: GlobalConfig, base_dir: str) -> ScrapeConfig:
    check_keys(m, _SCRAPE_KEYS, "scrape_config")
    for key in _UNSUPPORTED_SD_KEYS:
        if key in m:
            raise m.error(
                f"{key} is not supported by the workshop stack (use static_configs or file_sd_configs)", key
            )
    job = m.get("job_name")
    if not job or not isinstance(job, str):
        raise m.error("job_name is empty", "job_name")
    interval = get_duration_ms(m, "scrape_interval", g.scrape_interval_ms) or g.scrape_interval_ms
    if "scrape_timeout" in m:
        timeout = get_duration_ms(m, "scrape_timeout", 0) or min(g.scrape_timeout_ms, interval)
        if timeout > interval:
            raise m.error(
                f'scrape timeout greater than scrape interval for scrape config with job name "{job}"',
                "scrape_timeout",
            )
    else:
        timeout = min(g.scrape_timeout_ms, interval)
    scheme = str(m.get("scheme") or DEFAULT_SCHEME)
    if scheme not in ("http", "https"):
        raise m.error(f'unknown scrape scheme "{scheme}"', "scheme")
    metrics_path = str(m.get("metrics_path") or DEFAULT_METRICS_PATH)
    limits = dict(g.limits)
    for key in _LIMIT_KEYS:
        if key in m:
            limits[key] = get_size(m, key) if key == "body_size_limit" else get_uint(m, key)
    relabel = parse_relabel_configs(m.get("relabel_configs"))
    statics = tuple(_parse_static(s) for s in get_list(m, "static_configs"))
    if not relabel:
        for s, node in zip(statics, get_list(m, "static_configs"), strict=True):
            for t in s.targets:
                if "/" in t:
                    raise node.error(f'"{t}" is not a valid hostname', "targets")
    fallback = str(m.get("fallback_scrape_protocol") or "")
    if fallback and fallback not in SCRAPE_PROTOCOLS:
        raise m.error(f'unknown fallback_scrape_protocol "{fallback}"', "fallback_scrape_protocol")
    return ScrapeConfig(
        job_name=job,
        scrape_interval_ms=interval,
        scrape_timeout_ms=timeout,
        metrics_path=metrics_path,
        scheme=scheme,
        params=_params(m),
        honor_labels=get_bool(m, "honor_labels", False),
        honor_timestamps=get_bool(m, "honor_timestamps", True),
        track_timestamps_staleness=get_bool(m, "track_timestamps_staleness", False),
        enable_compression=get_bool(m, "enable_compression", True),
        extra_scrape_metrics=get_bool(m, "extra_scrape_metrics", False),
        scrape_protocols=_protocols(m) if "scrape_protocols" in m else g.scrape_protocols,
        fallback_scrape_protocol=fallback,
        static_configs=statics,
        file_sd_configs=tuple(_parse_file_sd(f, base_dir) for f in get_list(m, "file_sd_configs")),
        relabel_configs=relabel,
        metric_relabel_configs=parse_relabel_configs(
            m.get("metric_relabel_configs"), "metric_relabel_configs"
        ),
        http=_parse_http_client(m),
        **limits,
    )


def _parse_static(m: Any) -> StaticConfig:
    check_keys(m, ("targets", "labels"), "static_config")
    targets = m.get("targets") or []
    if not isinstance(targets, list):
        raise m.error("targets must be a list of host:port strings", "targets")
    return StaticConfig(tuple(str(t) for t in targets), _label_set(m, "labels"))


def _parse_file_sd(m: Any, base_dir: str) -> FileSDConfig:
    check_keys(m, ("files", "refresh_interval"), "file_sd_config")
    files = get_string_list(m, "files")
    if not files:
        raise m.error("file service discovery config must contain at least one path name", "files")
    for f in files:
        if not f.endswith((".json", ".yml", ".yaml")):
            raise m.error(f'path name "{f}" is not valid for file discovery', "files")
        if any(c in os.path.dirname(f) for c in "*?["):
            raise m.error(
                f'path name "{f}" is not valid for file discovery: glob only in the last element', "files"
            )
    refresh = get_duration_ms(m, "refresh_interval", DEFAULT_FILE_SD_REFRESH_MS) or DEFAULT_FILE_SD_REFRESH_MS
    return FileSDConfig(tuple(_resolve(base_dir, f) for f in files), refresh)


def _parse_http_client(m: Any) -> HTTPClientConfig:
    basic = authz = tls = None
    if m.get("basic_auth") is not None:
        b = m["basic_auth"]
        check_keys(b, ("username", "username_file", "password", "password_file"), "basic_auth")
        basic = (
            str(b.get("username") or _read_secret(b, "username_file")),
            str(b.get("password") or _read_secret(b, "password_file")),
        )
    if m.get("authorization") is not None:
        a = m["authorization"]
        check_keys(a, ("type", "credentials", "credentials_file"), "authorization")
        authz = (
            str(a.get("type") or "Bearer"),
            str(a.get("credentials") or _read_secret(a, "credentials_file")),
        )
    if m.get("bearer_token"):
        authz = ("Bearer", str(m["bearer_token"]))
    if basic and authz:
        raise m.error("at most one of basic_auth, oauth2 & authorization must be configured", "authorization")
    if m.get("tls_config") is not None:
        t = m["tls_config"]
        check_keys(
            t,
            _words(
                "ca_file cert_file key_file server_name insecure_skip_verify ca cert key min_version "
                "max_version"
            ),
            "tls_config",
        )
        tls = TLSConfig(
            str(t.get("ca_file") or ""),
            str(t.get("cert_file") or ""),
            str(t.get("key_file") or ""),
            str(t.get("server_name") or ""),
            get_bool(t, "insecure_skip_verify", False),
        )
    headers = ()
    if m.get("http_headers") is not None:
        h = m["http_headers"]
        check_keys(h, h.keys(), "http_headers")
        headers = tuple(
            (str(k), str(v.get("values", [""])[0] if isinstance(v, dict) else v)) for k, v in h.items()
        )
    return HTTPClientConfig(
        basic, authz, tls, get_bool(m, "follow_redirects", True), get_bool(m, "enable_http2", True), headers
    )


def _parse_alerting(m: Any, base_dir: str) -> AlertingConfig:
    if m is None:
        return AlertingConfig()
    check_keys(m, ("alert_relabel_configs", "alertmanagers"), "alerting")
    ams = []
    for a in get_list(m, "alertmanagers"):
        check_keys(
            a,
            _words(
                "scheme path_prefix timeout api_version static_configs file_sd_configs relabel_configs "
                "alert_relabel_configs sigv4"
            ) + _HTTP_CLIENT_KEYS,
            "alertmanager_config",
        )
        version = str(a.get("api_version") or "v2")
        if version != "v2":
            raise a.error("expected Alertmanager api version to be one of [v2]", "api_version")
        ams.append(
            AlertmanagerConfig(
                scheme=str(a.get("scheme") or DEFAULT_SCHEME),
                path_prefix=str(a.get("path_prefix") or "/"),
                timeout_ms=get_duration_ms(a, "timeout", DEFAULT_ALERTMANAGER_TIMEOUT_MS),
                api_version=version,
                static_configs=tuple(_parse_static(s) for s in get_list(a, "static_configs")),
                file_sd_configs=tuple(_parse_file_sd(f, base_dir) for f in get_list(a, "file_sd_configs")),
                relabel_configs=parse_relabel_configs(a.get("relabel_configs")),
                alert_relabel_configs=parse_relabel_configs(
                    a.get("alert_relabel_configs"), "alert_relabel_configs"
                ),
                http=_parse_http_client(a),
            )
        )
    return AlertingConfig(
        parse_relabel_configs(m.get("alert_relabel_configs"), "alert_relabel_configs"), tuple(ams)
    )


def _parse_remote_write(m: Any) -> RemoteWriteConfig:
    check_keys(
        m,
        _words(
            "url name remote_timeout headers write_relabel_configs queue_config metadata_config "
            "send_exemplars send_native_histograms round_robin_dns protobuf_message sigv4 azuread "
            "google_iam"
        ) + _HTTP_CLIENT_KEYS,
        "remote_write",
    )
    if not m.get("url"):
        raise m.error("url for remote_write is empty", "url")
    if m.get("queue_config") is not None:
        check_keys(
            m["queue_config"],
            _words(
                "capacity max_shards min_shards max_samples_per_send batch_send_deadline min_backoff "
                "max_backoff retry_on_http_429 sample_age_limit"
            ),
            "queue_config",
        )
    if m.get("metadata_config") is not None:
        check_keys(m["metadata_config"], ("send", "send_interval", "max_samples_per_send"), "metadata_config")
    return RemoteWriteConfig(
        url=str(m["url"]),
        name=str(m.get("name") or ""),
        remote_timeout_ms=get_duration_ms(m, "remote_timeout", DEFAULT_REMOTE_WRITE_TIMEOUT_MS),
        write_relabel_configs=parse_relabel_configs(m.get("write_relabel_configs"), "write_relabel_configs"),
        queue_config=m.get("queue_config"),
        metadata_config=m.get("metadata_config"),
        send_exemplars=get_bool(m, "send_exemplars", False),
        http=_parse_http_client(m),
    )


def _parse_remote_read(m: Any) -> RemoteReadConfig:
    check_keys(
        m,
        _words(
            "url name remote_timeout headers read_recent required_matchers filter_external_labels"
        ) + _HTTP_CLIENT_KEYS,
        "remote_read",
    )
    if not m.get("url"):
        raise m.error("url for remote_read is empty", "url")
    return RemoteReadConfig(
        url=str(m["url"]),
        name=str(m.get("name") or ""),
        remote_timeout_ms=get_duration_ms(m, "remote_timeout", DEFAULT_REMOTE_READ_TIMEOUT_MS),
        read_recent=get_bool(m, "read_recent", False),
        required_matchers=_label_set(m, "required_matchers"),
        filter_external_labels=get_bool(m, "filter_external_labels", True),
        http=_parse_http_client(m),
    )


# --- values specific to this file ------------------------------------------------------------


def _label_set(m: Any, key: str) -> tuple[tuple[str, str], ...]:
    value = m.get(key)
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise m.error(f"{key} must be a mapping of label names to values", key)
    out = []
    for name, v in value.items():
        line_key = name if isinstance(value, Mapping) else None
        node = value if isinstance(value, Mapping) else m
        if not isinstance(name, str) or not LABEL_NAME_RE.match(name):
            raise node.error(f'"{name}" is not a valid label name', line_key or key)
        if isinstance(v, dict | list):
            raise node.error(f'label "{name}" must have a string value', line_key or key)
        out.append((name, "" if v is None else str(v)))
    return tuple(sorted(out))


def _params(m: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    value = m.get("params")
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise m.error("params must map each name to a list of values", "params")
    return tuple(sorted((str(k), tuple(str(x) for x in v)) for k, v in value.items()))


def _protocols(m: Any) -> tuple[str, ...]:
    if "scrape_protocols" not in m:
        return DEFAULT_SCRAPE_PROTOCOLS
    protocols = get_string_list(m, "scrape_protocols")
    for p in protocols:
        if p not in SCRAPE_PROTOCOLS:
            raise m.error(
                f"unknown scrape protocol {p}, supported: {', '.join(SCRAPE_PROTOCOLS)}", "scrape_protocols"
            )
    if len(set(protocols)) != len(protocols):
        raise m.error("duplicated protocol in scrape_protocols", "scrape_protocols")
    if not protocols:
        raise m.error("scrape_protocols cannot be empty", "scrape_protocols")
    return tuple(protocols)


def _read_secret(m: Any, key: str) -> str:
    path = m.get(key)
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as e:
        raise m.error(f"unable to read {key} {path}: {e.strerror}", key) from None


def _resolve(base_dir: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(base_dir, path)
