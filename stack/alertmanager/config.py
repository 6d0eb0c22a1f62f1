"""Loading ``alertmanager.yml`` in the upstream format, with errors that name file and line.

Parsing is strict as upstream's (``config/config.go``): an unknown key is an error, receivers named
by routes must exist, the root route may not carry matchers. The same file is used verbatim by the
real Alertmanager in docker-compose, so anything the real one accepts we accept too.

Only ``webhook_configs`` are delivered here. The other integrations (email, slack, pagerduty, ...)
are accepted so that a real config loads; each is listed in :attr:`Config.warnings`, shown by
``workshop alertmanager`` at start-up and in ``/api/v2/status``, and a notification routed to one
is counted as failed with that reason instead of silently vanishing.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stack.alertmanager import matchers as m
from stack.alertmanager.inhibit import InhibitRule
from stack.alertmanager.routing import Route
from stack.alertmanager.timeinterval import TimeInterval, parse_time_interval
from stack.config.duration import format_duration_ms, parse_duration_ms
from stack.config.yamlutil import Mapping, check_keys, load_yaml

DEFAULT_RESOLVE_TIMEOUT = 300.0  # global.resolve_timeout: 5m (upstream DefaultGlobalConfig)
TOP_KEYS = ("global", "route", "inhibit_rules", "receivers", "templates", "time_intervals",
            "mute_time_intervals", "tracing")
ROUTE_KEYS = ("receiver", "group_by", "continue", "matchers", "match", "match_re", "group_wait",
              "group_interval", "repeat_interval", "mute_time_intervals", "active_time_intervals", "routes")
INHIBIT_KEYS = ("source_matchers", "target_matchers", "source_match", "source_match_re", "target_match",
                "target_match_re", "equal", "name")
WEBHOOK_KEYS = ("url", "url_file", "send_resolved", "http_config", "max_alerts", "timeout")
HTTP_KEYS = ("basic_auth", "authorization", "bearer_token", "bearer_token_file", "tls_config", "proxy_url",
             "no_proxy", "proxy_from_environment", "proxy_connect_header", "follow_redirects",
             "enable_http2", "oauth2", "http_headers")
GLOBAL_KEYS = (
    "resolve_timeout", "http_config", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username",
    "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_secret", "smtp_auth_identity",
    "smtp_require_tls", "smtp_tls_config", "slack_api_url", "slack_api_url_file", "slack_app_token",
    "pagerduty_url", "opsgenie_api_url", "opsgenie_api_key", "opsgenie_api_key_file", "wechat_api_url",
    "wechat_api_secret", "wechat_api_corp_id", "victorops_api_url", "victorops_api_key",
    "victorops_api_key_file", "telegram_api_url", "webex_api_url", "jira_api_url", "rocketchat_api_url",
    "rocketchat_token", "rocketchat_token_id", "rocketchat_token_file", "rocketchat_token_id_file")
# Integrations a real config may use; accepted, reported, not delivered.
UNSUPPORTED_INTEGRATIONS = (
    "email_configs", "pagerduty_configs", "slack_configs", "opsgenie_configs", "wechat_configs",
    "pushover_configs", "victorops_configs", "sns_configs", "telegram_configs", "webex_configs",
    "discord_configs", "msteams_configs", "msteamsv2_configs", "jira_configs", "rocketchat_configs",
    "incidentio_configs", "mattermost_configs")
SECRET_WORDS = ("password", "secret", "token", "key", "api_url", "webhook_url", "url")


@dataclass
class HTTPConfig:
    """The subset of upstream's common HTTP client config the webhook sender honours."""

    basic_auth: tuple[str, str] | None = None
    authorization: tuple[str, str] | None = None     # (type, credentials)
    insecure_skip_verify: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    proxy_url: str | None = None
    follow_redirects: bool = True

    def headers(self) -> dict[str, str]:
        if self.authorization:
            return {"Authorization": f"{self.authorization[0]} {self.authorization[1]}"}
        return {}


@dataclass
class WebhookConfig:
    url: str
    send_resolved: bool = True   # webhook default (upstream DefaultWebhookConfig)
    max_alerts: int = 0          # 0 = unlimited
    timeout: float = 0.0         # 0 = bounded only by the flush deadline
    http_config: HTTPConfig = field(default_factory=HTTPConfig)


@dataclass
class Integration:
    """One entry of a receiver's ``*_configs`` lists; ``unsupported`` says why it is not delivered."""

    kind: str            # "webhook", "email", ...
    index: int
    webhook: WebhookConfig | None = None
    unsupported: str = ""

    @property
    def send_resolved(self) -> bool:
        return self.webhook.send_resolved if self.webhook else False


@dataclass
class Receiver:
    name: str
    integrations: list[Integration] = field(default_factory=list)


@dataclass
class Config:
    route: Route
    receivers: dict[str, Receiver]
    inhibit_rules: list[InhibitRule]
    time_intervals: dict[str, TimeInterval]
    resolve_timeout: float = DEFAULT_RESOLVE_TIMEOUT
    templates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    original: str = ""           # the parsed config re-serialised (``/api/v2/status``)
    filename: str = ""


def load_config(path: str | os.PathLike) -> Config:
    """Load and validate a file; raises ConfigError("file:line: ...") on a mistake."""
    return parse_config(None, str(path))


def parse_config(text: str | None, filename: str = "alertmanager.yml") -> Config:
    doc = load_yaml(filename, text)
    check_keys(doc, TOP_KEYS, "config.plain")
    g = doc.get("global") or _empty(doc)
    check_keys(g, GLOBAL_KEYS, "config.GlobalConfig")
    resolve_timeout = _duration(g, "resolve_timeout", DEFAULT_RESOLVE_TIMEOUT)
    global_http = _http_config(g.get("http_config"), g) if g.get("http_config") else HTTPConfig()

    intervals: dict[str, TimeInterval] = {}
    for key in ("time_intervals", "mute_time_intervals"):
        for node in doc.get(key) or []:
            ti = parse_time_interval(node, "config.TimeInterval")
            if ti.name in intervals:
                raise node.error(f"time interval {ti.name!r} is not unique", "name")
            intervals[ti.name] = ti

    warnings: list[str] = []
    receivers: dict[str, Receiver] = {}
    for node in doc.get("receivers") or []:
        r = _receiver(node, g, global_http, warnings)
        if r.name in receivers:
            raise node.error(f'notification config name "{r.name}" is not unique', "name")
        receivers[r.name] = r

    if "route" not in doc or not doc["route"]:
        raise doc.error("no routes provided")
    root_node = doc["route"]
    check_keys(root_node, ROUTE_KEYS, "config.Route")
    if not root_node.get("receiver"):
        raise root_node.error("root route must specify a default receiver")
    for bad in ("match", "match_re", "matchers", "mute_time_intervals", "active_time_intervals"):
        if root_node.get(bad):
            raise root_node.error(f"root route must not have any {bad}", bad)
    if root_node.get("continue"):
        raise root_node.error("cannot have continue in root route", "continue")
    route = _route(root_node, None, receivers, intervals)

    rules = [_inhibit_rule(n) for n in doc.get("inhibit_rules") or []]
    templates = _templates(doc, filename, warnings)
    for r in receivers.values():
        for i in r.integrations:
            if i.unsupported:
                warnings.append(f'receiver "{r.name}": {i.unsupported}')
    cfg = Config(route, receivers, rules, intervals, resolve_timeout, templates, warnings, filename=filename)
    cfg.original = render_config(doc, cfg)
    return cfg


# --- pieces ------------------------------------------------------------------------------------

def _empty(parent) -> Mapping:
    e = Mapping()
    e.filename, e.line, e.key_lines = parent.filename, parent.line, {}
    return e


def _duration(node, key: str, default: float) -> float:
    if node.get(key) is None:
        return default
    try:
        return parse_duration_ms(str(node[key])) / 1000.0
    except ValueError as e:
        raise node.error(str(e), key) from None


def _matcher_list(node, key: str) -> list:
    out = []
    items = node.get(key) or []
    if not isinstance(items, list):
        raise node.error(f"{key} must be a list of matcher strings", key)
    for text in items:
        try:
            out += m.parse_matchers(str(text))
        except ValueError as e:
            raise node.error(f"invalid {key}: {e}", key) from None
    return out


def _legacy(node, eq_key: str, re_key: str) -> list:
    for key in (eq_key, re_key):
        val = node.get(key)
        if val is not None and not isinstance(val, dict):
            raise node.error(f"{key} must be a mapping of label name to value", key)
        for name in val or {}:
            if not m.LABEL_NAME_RE.match(str(name)):
                raise node.error(f'invalid label name "{name}"', key)
    try:
        return m.legacy_matchers(node.get(eq_key) or {}, node.get(re_key) or {})
    except ValueError as e:
        raise node.error(f"invalid {re_key}: {e}", re_key) from None


def _route(node, parent: Route | None, receivers: dict, intervals: dict) -> Route:
    check_keys(node, ROUTE_KEYS, "config.Route")
    receiver = node.get("receiver") or (parent.receiver if parent else "")
    if receiver not in receivers:
        raise node.error(f'undefined receiver "{receiver}" used in route',
                         "receiver" if "receiver" in node else None)
    r = Route(receiver=str(receiver), parent=parent, explicit=dict(node))
    if parent:
        r.group_by, r.group_by_all = parent.group_by, parent.group_by_all
        r.group_wait, r.group_interval = parent.group_wait, parent.group_interval
        r.repeat_interval = parent.repeat_interval
    if "group_by" in node:
        names = [str(x) for x in node.get("group_by") or []]
        if "..." in names and len(names) > 1:
            raise node.error("cannot have wildcard group_by (`...`) and other labels at the same time",
                             "group_by")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise node.error(f"duplicated label {dup!r} in group_by", "group_by")
        for n in names:
            if n != "..." and not m.LABEL_NAME_RE.match(n):
                raise node.error(f"invalid label name {n!r} in group_by list", "group_by")
        r.group_by_all = names == ["..."]
        r.group_by = frozenset() if r.group_by_all else frozenset(names)
    r.group_wait = _duration(node, "group_wait", r.group_wait)
    r.group_interval = _duration(node, "group_interval", r.group_interval)
    r.repeat_interval = _duration(node, "repeat_interval", r.repeat_interval)
    for key in ("group_interval", "repeat_interval"):
        if key in node and getattr(r, key) == 0:
            raise node.error(f"{key} cannot be zero", key)
    r.matchers = tuple(_matcher_list(node, "matchers") + _legacy(node, "match", "match_re"))
    r.continue_ = bool(node.get("continue", False))
    for key in ("mute_time_intervals", "active_time_intervals"):
        names = tuple(str(x) for x in node.get(key) or [])
        for n in names:
            if n not in intervals:
                raise node.error(f'undefined time interval "{n}" used in route', key)
        setattr(r, key, names)
    for child in node.get("routes") or []:
        r.routes.append(_route(child, r, receivers, intervals))
    return r


def _inhibit_rule(node) -> InhibitRule:
    check_keys(node, INHIBIT_KEYS, "config.InhibitRule")
    equal = tuple(str(x) for x in node.get("equal") or [])
    for n in equal:
        if not m.LABEL_NAME_RE.match(n):
            raise node.error(f"invalid label name {n!r} in equal list", "equal")
    src = _matcher_list(node, "source_matchers") + _legacy(node, "source_match", "source_match_re")
    tgt = _matcher_list(node, "target_matchers") + _legacy(node, "target_match", "target_match_re")
    return InhibitRule(tuple(src), tuple(tgt), equal, str(node.get("name") or ""))


def _receiver(node, g, global_http: HTTPConfig, warnings: list[str]) -> Receiver:
    check_keys(node, ("name", "webhook_configs", *UNSUPPORTED_INTEGRATIONS), "config.Receiver")
    if not node.get("name"):
        raise node.error("missing name in receiver")
    r = Receiver(str(node["name"]))
    for i, w in enumerate(node.get("webhook_configs") or []):
        r.integrations.append(Integration("webhook", i, webhook=_webhook(w, global_http)))
    for key in UNSUPPORTED_INTEGRATIONS:
        kind = key.removesuffix("_configs")
        for i, c in enumerate(node.get(key) or []):
            if not isinstance(c, dict):
                raise node.error(f"{key} entries must be mappings", key)
            _check_required(kind, c, g)
            r.integrations.append(Integration(
                kind, i, unsupported=f"receiver kind {kind} is not supported here "
                                     "(only webhook_configs is delivered)"))
    return r


def _check_required(kind: str, c, g) -> None:
    """The few load-time checks upstream makes that a workshop config is likely to trip over."""
    if kind == "email":
        if not c.get("to"):
            raise c.error("missing to address in email config")
        for key in ("smarthost", "from"):
            if not c.get(key) and not g.get(f"smtp_{key}"):
                raise c.error(f"no global SMTP {key} set")
    if kind == "slack" and not (c.get("api_url") or c.get("api_url_file") or c.get("app_token")
                                or g.get("slack_api_url") or g.get("slack_api_url_file")):
        raise c.error("no global Slack API URL set")


def _webhook(node, global_http: HTTPConfig) -> WebhookConfig:
    check_keys(node, WEBHOOK_KEYS, "config.WebhookConfig")
    has_url, has_file = bool(node.get("url")), bool(node.get("url_file"))
    if has_url == has_file:
        raise node.error("one of url or url_file must be configured")
    if has_file:
        try:
            url = Path(str(node["url_file"])).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise node.error(f"cannot read url_file: {e.strerror}", "url_file") from None
    else:
        url = str(node["url"])
    if not url.startswith(("http://", "https://")):
        raise node.error(f'unsupported scheme in webhook url "{url}" (want http or https)', "url")
    max_alerts = node.get("max_alerts", 0)
    if not isinstance(max_alerts, int) or max_alerts < 0:
        raise node.error("max_alerts must be a non-negative integer", "max_alerts")
    http = _http_config(node["http_config"], node) if node.get("http_config") else global_http
    return WebhookConfig(url=url, send_resolved=bool(node.get("send_resolved", True)), max_alerts=max_alerts,
                         timeout=_duration(node, "timeout", 0.0), http_config=http)


def _http_config(node, parent) -> HTTPConfig:
    check_keys(node, HTTP_KEYS, "config.HTTPClientConfig")
    h = HTTPConfig(follow_redirects=bool(node.get("follow_redirects", True)), proxy_url=node.get("proxy_url"))
    if node.get("basic_auth"):
        ba = node["basic_auth"]
        check_keys(ba, ("username", "password", "password_file", "username_file"), "config.BasicAuth")
        password = ba.get("password") or _read_secret(ba, "password_file")
        h.basic_auth = (str(ba.get("username") or ""), str(password or ""))
    bearer = node.get("bearer_token") or _read_secret(node, "bearer_token_file")
    if node.get("authorization"):
        au = node["authorization"]
        check_keys(au, ("type", "credentials", "credentials_file"), "config.Authorization")
        h.authorization = (str(au.get("type") or "Bearer"),
                           str(au.get("credentials") or _read_secret(au, "credentials_file") or ""))
    elif bearer:
        h.authorization = ("Bearer", str(bearer))
    if h.basic_auth and h.authorization:
        raise node.error("at most one of basic_auth and authorization/bearer_token may be configured")
    if node.get("tls_config"):
        tls = node["tls_config"]
        check_keys(tls, ("ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify",
                         "min_version", "max_version", "ca", "cert", "key"), "config.TLSConfig")
        h.insecure_skip_verify = bool(tls.get("insecure_skip_verify", False))
        h.ca_file, h.cert_file, h.key_file = tls.get("ca_file"), tls.get("cert_file"), tls.get("key_file")
        h.server_name = tls.get("server_name")
        if bool(h.cert_file) != bool(h.key_file):
            raise tls.error("exactly one of key and cert file specified")
        for key in ("ca_file", "cert_file", "key_file"):
            if tls.get(key) and not Path(str(tls[key])).is_file():
                raise tls.error(f"unable to read {key} {tls[key]}: no such file", key)
    return h


def _read_secret(node, key: str) -> str | None:
    if not node.get(key):
        return None
    try:
        return Path(str(node[key])).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise node.error(f"cannot read {key}: {e.strerror}", key) from None


def _templates(doc, filename: str, warnings: list[str]) -> list[str]:
    """Template globs, resolved against the config's folder as upstream does."""
    out = []
    base = Path(filename).parent
    for pattern in doc.get("templates") or []:
        p = str(pattern)
        full = p if os.path.isabs(p) else str(base / p)
        if not glob.glob(full):
            warnings.append(f"template glob {p!r} matches no files")
        out.append(full)
    return out


# --- re-serialising (config.original) ------------------------------------------------------------

def render_config(doc, cfg: Config) -> str:
    """The parsed config back as YAML with defaults filled in and secrets hidden, as upstream's
    ``config.original``. Only fields Alertmanager 0.25 knows are written, so ``amtool config``
    can read it back."""
    out: dict = {"global": {"resolve_timeout": format_duration_ms(int(cfg.resolve_timeout * 1000)),
                            "http_config": {"follow_redirects": True, "enable_http2": True},
                            "smtp_hello": "localhost", "smtp_require_tls": True}}
    out["route"] = _render_route(cfg.route)
    if cfg.inhibit_rules:
        out["inhibit_rules"] = [_render_rule(r) for r in cfg.inhibit_rules]
    out["receivers"] = [_render_receiver(doc, r) for r in cfg.receivers.values()]
    out["templates"] = list(cfg.templates)
    if doc.get("time_intervals") or doc.get("mute_time_intervals"):
        out["time_intervals"] = [_plain(t) for t in (doc.get("time_intervals") or [])
                                 + (doc.get("mute_time_intervals") or [])]
    return yaml.safe_dump(out, sort_keys=False, default_flow_style=False)


def _render_route(r: Route) -> dict:
    d: dict = {"receiver": r.receiver}
    if r.parent is None or "group_by" in r.explicit:
        d["group_by"] = ["..."] if r.group_by_all else sorted(r.group_by)
    if r.matchers:
        d["matchers"] = [str(x) for x in r.matchers]
    if r.continue_:
        d["continue"] = True
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if r.parent is None or key in r.explicit:
            d[key] = format_duration_ms(int(getattr(r, key) * 1000))
    for key in ("mute_time_intervals", "active_time_intervals"):
        if getattr(r, key):
            d[key] = list(getattr(r, key))
    if r.routes:
        d["routes"] = [_render_route(c) for c in r.routes]
    return d


def _render_http(h: HTTPConfig) -> dict:
    d: dict = {}
    if h.basic_auth:
        d["basic_auth"] = {"username": h.basic_auth[0], "password": "<secret>"}
    if h.authorization:
        d["authorization"] = {"type": h.authorization[0], "credentials": "<secret>"}
    if h.insecure_skip_verify:
        d["tls_config"] = {"insecure_skip_verify": True}
    d.update({"follow_redirects": h.follow_redirects, "enable_http2": True})
    return d


def _render_rule(rule: InhibitRule) -> dict:
    d: dict = {"source_matchers": [str(x) for x in rule.source_matchers],
               "target_matchers": [str(x) for x in rule.target_matchers]}
    if rule.equal:
        d["equal"] = list(rule.equal)
    return d


def _render_receiver(doc, r: Receiver) -> dict:
    d: dict = {"name": r.name}
    hooks = [i.webhook for i in r.integrations if i.webhook]
    if hooks:
        d["webhook_configs"] = [{"send_resolved": w.send_resolved,
                                 "http_config": _render_http(w.http_config),
                                 # 0.34 prints <secret>; 0.25's amtool cannot parse that back, so we
                                 # print the URL as 0.25 does (``amtool config routes`` reads it).
                                 "url": w.url, "max_alerts": w.max_alerts} for w in hooks]
    raw = next((n for n in doc.get("receivers") or [] if str(n.get("name")) == r.name), {})
    for key in UNSUPPORTED_INTEGRATIONS:
        if raw.get(key):
            d[key] = [_hide_secrets(_plain(c)) for c in raw[key]]
    return d


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


def _is_secret(key: str, value) -> bool:
    return isinstance(value, str) and any(w in key for w in SECRET_WORDS)


def _hide_secrets(d):
    if isinstance(d, dict):
        return {k: "<secret>" if _is_secret(k, v) else _hide_secrets(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_hide_secrets(v) for v in d]
    return d
