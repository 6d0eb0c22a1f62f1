"""The read-only half of HTTP API v1 (targets, rules, alerts, metadata, status) plus the admin API.

These endpoints show what the scrape manager, rule manager and TSDB are doing; they do not compute
anything. Each one turns the component's own objects into upstream's JSON shapes (spec
http-api.md §6.4-§8), so the conversion lives here and the components stay free of web concerns.
"""

from __future__ import annotations

import os
import platform
import threading

from stack.model import Labels, matches_all
from stack.promql.printer import format_expr
from stack.web import codec
from stack.web.api_query import parse_match_params, parse_query_param
from stack.web.params import MAX_TIME_MS, MIN_TIME_MS, ApiError, Params, bad_param, optional_time_param

# Reported by /status/buildinfo. Grafana gates features on the version (>= 2.24 enables label APIs
# with match[]); the "-workshop" suffix tells a reader which server answered.
VERSION = "3.5.0-workshop"

_RULE_TYPES = {"alert": "alerting", "record": "recording"}


class StatusAPI:
    def __init__(self, server):
        self.server = server

    # --- targets --------------------------------------------------------------------------
    async def targets(self, p: Params):
        state = p.get("state").lower() or "any"
        pool_filter = p._query.get("scrapePool", "")  # upstream reads it from the URL only
        sm = self.server.scrape_manager
        active, dropped = ([], []) if sm is None else (sm.active_targets(), sm.dropped_targets())
        if pool_filter:
            active = [t for t in active if _pool(t) == pool_filter]
            dropped = [t for t in dropped if _pool(t) == pool_filter]
        show_active = state in ("active", "any")
        show_dropped = state in ("dropped", "any")
        counts = None
        if show_dropped:
            counts = {}
            for t in dropped:
                counts[_pool(t)] = counts.get(_pool(t), 0) + 1
        data = {
            "activeTargets": [target_json(t) for t in _by_pool(active)] if show_active else [],
            "droppedTargets": [dropped_target_json(t) for t in _by_pool(dropped)] if show_dropped else [],
            "droppedTargetCounts": counts,
        }
        return codec.dumps(data), []

    async def targets_metadata(self, p: Params):
        limit = _metadata_limit(p, default=-1)
        metric = p.get("metric")
        selector = p.get("match_target")
        target_matchers = parse_match_params([selector], prefix=True) if selector else []
        out = []
        sm = self.server.scrape_manager
        for t in _by_pool(sm.active_targets() if sm else []):
            if 0 <= limit <= len(out):
                break
            labels = t.labels
            if target_matchers and not matches_all(labels, target_matchers[0]):
                continue
            for name, md in sorted(_target_metadata(t).items()):
                if metric and name != metric:
                    continue
                entry = {"target": labels.to_dict()}
                if not metric:
                    entry["metric"] = name
                entry.update(md)
                out.append(entry)
        return codec.dumps(out), []

    async def metadata(self, p: Params):
        limit = _metadata_limit(p, default=-1)
        per_metric = _metadata_limit(p, default=-1, name="limit_per_metric")
        metric = p.get("metric")
        merged: dict[str, list[dict]] = {}
        sm = self.server.scrape_manager
        for t in sm.active_targets() if sm else []:
            for name, md in _target_metadata(t).items():
                if metric and name != metric:
                    continue
                entries = merged.setdefault(name, [])
                if md not in entries and (per_metric < 0 or len(entries) < per_metric):
                    entries.append(md)
        if limit >= 0:
            merged = dict(list(merged.items())[:limit])
        return codec.dumps(merged), []

    # --- rules and alerts -----------------------------------------------------------------
    async def rules(self, p: Params):
        kind = p.get("type").lower()
        if kind and kind not in _RULE_TYPES:
            raise bad_param("type", f'not supported value "{kind}"')
        names = set(p.getall("rule_name[]"))
        groups_wanted = set(p.getall("rule_group[]"))
        files = set(p.getall("file[]"))
        matcher_sets = parse_match_params(p.getall("match[]"), prefix=True)
        exclude_alerts = p.get("exclude_alerts").lower() == "true"
        out = []
        for g in sorted(_rule_groups(self.server), key=lambda g: (g.file, g.name)):
            if (groups_wanted and g.name not in groups_wanted) or (files and g.file not in files):
                continue
            rules = []
            for rule, expr, status in zip(g.rules, g.exprs, g.status, strict=True):
                if kind and _RULE_TYPES[kind] != _rule_type(rule):
                    continue
                if names and rule.name not in names:
                    continue
                labels = Labels(rule.static_labels)
                if matcher_sets and not any(matches_all(labels, ms) for ms in matcher_sets):
                    continue
                rules.append(rule_json(rule, expr, status, exclude_alerts))
            if rules:
                out.append({
                    "name": g.name, "file": g.file, "interval": _seconds(g.interval_ms / 1000),
                    "limit": g.spec.limit, "evaluationTime": float(g.evaluation_time),
                    "lastEvaluation": codec.rfc3339(g.last_evaluation), "rules": rules,
                })
        return codec.dumps({"groups": out}), []

    async def alerts(self, p: Params):
        alerts = [alert_json(a) for g in _rule_groups(self.server) for r in g.rules
                  if _rule_type(r) == "alerting" for a in r.current_alerts()]
        return codec.dumps({"alerts": alerts}), []

    async def alertmanagers(self, p: Params):
        """The Alertmanagers alerts go to, from the config's static targets (where the notifier sends)."""
        urls = []
        alerting = getattr(getattr(self.server, "config", None), "alerting", None)
        for am in getattr(alerting, "alertmanagers", ()):
            prefix = "/" + am.path_prefix.strip("/") if am.path_prefix.strip("/") else ""
            for sc in am.static_configs:
                urls += [f"{am.scheme}://{t}{prefix}/api/{am.api_version}/alerts" for t in sc.targets]
        data = {"activeAlertmanagers": [{"url": u} for u in urls], "droppedAlertmanagers": []}
        return codec.dumps(data), []

    # --- status ---------------------------------------------------------------------------
    async def buildinfo(self, p: Params):
        # No "features" key: Grafana would take the server for Mimir (spec §8).
        data = {"version": VERSION, "revision": "workshop", "branch": "main", "buildUser": "workshop",
                "buildDate": "20240501-00:00:00", "goVersion": f"python{platform.python_version()}"}
        return codec.dumps(data), []

    async def config(self, p: Params):
        """The loaded config as YAML (what was loaded, not the file as it is now on disk)."""
        import yaml

        raw = getattr(getattr(self.server, "config", None), "raw", None)
        text = yaml.safe_dump(_plain(raw), sort_keys=False) if raw is not None else ""
        return codec.dumps({"yaml": text}), []

    async def flags(self, p: Params):
        return codec.dumps({k: _flag_str(v) for k, v in self.server.flags.items()}), []

    async def runtimeinfo(self, p: Params):
        s = self.server
        data = {
            "startTime": codec.rfc3339(s.start_time),
            "CWD": os.getcwd(),
            "reloadConfigSuccess": bool(s.reload_config_success),
            "lastConfigTime": codec.rfc3339(s.last_config_time),
            "corruptionCount": 0,
            "goroutineCount": threading.active_count(),  # our nearest equivalent: threads
            "GOMAXPROCS": os.cpu_count() or 1,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": _flag_str(s.flags.get("storage.tsdb.retention.time", "")),
        }
        return codec.dumps(data), []

    async def tsdb(self, p: Params):
        """Head statistics; the TSDB computes them (``stats()``), this only serves them."""
        return codec.dumps(self.server.tsdb.stats()), []

    async def parse_query(self, p: Params):
        expr = parse_query_param(p.get("query"), prefix=True)
        return codec.dumps(ast_json(expr)), []

    # --- admin (only with --web.enable-admin-api) -----------------------------------------
    async def delete_series(self, p: Params):
        selectors = p.getall("match[]")
        if not selectors:
            raise ApiError("bad_data", "no match[] parameter provided")
        start = optional_time_param(p, "start", MIN_TIME_MS)
        end = optional_time_param(p, "end", MAX_TIME_MS)
        for ms in parse_match_params(selectors, prefix=True):
            self.server.tsdb.delete_series(ms, start, end)
        return None, []

    async def clean_tombstones(self, p: Params):
        if hasattr(self.server.tsdb, "clean_tombstones"):
            self.server.tsdb.clean_tombstones()
        return None, []



# --- conversions ------------------------------------------------------------------------------

def target_json(t) -> dict:
    """One active target (a stack.scrape.target.Target)."""
    return {
        "discoveredLabels": t.discovered_labels.to_dict(),
        "labels": t.labels.to_dict(),
        "scrapePool": t.scrape_pool,
        "scrapeUrl": t.scrape_url,
        "globalUrl": t.scrape_url,
        "lastError": t.last_error,
        "lastScrape": codec.rfc3339(t.last_scrape),
        "lastScrapeDuration": float(t.last_scrape_duration),
        "health": t.health,
        "scrapeInterval": t.scrape_interval,
        "scrapeTimeout": t.scrape_timeout,
    }


def dropped_target_json(t) -> dict:
    return {"discoveredLabels": t.discovered_labels.to_dict(), "scrapePool": t.scrape_pool}


def rule_json(rule, expr, status, exclude_alerts: bool = False) -> dict:
    """One rule of /api/v1/rules; ``status`` is the group's RuleStatus for it (health, timings)."""
    out: dict = {"name": rule.name, "query": format_expr(expr)}
    if _rule_type(rule) == "alerting":
        state = "unknown" if status.last_evaluation is None else str(rule.state.value)
        out = {"state": state, **out, "duration": _seconds(rule.spec.for_ms / 1000),
               "keepFiringFor": _seconds(rule.spec.keep_firing_for_ms / 1000),
               "labels": dict(rule.static_labels), "annotations": dict(rule.spec.annotations),
               "alerts": None if exclude_alerts else [alert_json(a) for a in rule.current_alerts()]}
    else:
        out["labels"] = dict(rule.static_labels)
    out["health"] = status.health
    if status.last_error:
        out["lastError"] = status.last_error
    out["evaluationTime"] = float(status.evaluation_time)
    out["lastEvaluation"] = codec.rfc3339(status.last_evaluation)
    out["type"] = _rule_type(rule)
    return out


def alert_json(a) -> dict:
    out = {"labels": a.labels.to_dict(), "annotations": dict(a.annotations), "state": str(a.state.value),
           "activeAt": codec.rfc3339(a.active_at / 1000), "value": codec.format_go_e(float(a.value))}
    if a.keep_firing_since:
        out["keepFiringSince"] = codec.rfc3339(a.keep_firing_since / 1000)
    return out


def ast_json(node) -> dict | list | str | float | int | None:
    """A query's syntax tree as JSON for /parse_query (node kinds as upstream's translateAST names)."""
    from stack.promql import ast

    if isinstance(node, ast.Expr):
        kind = type(node).__name__
        out: dict = {"type": kind[0].lower() + kind[1:]}
        for k, v in vars(node).items():
            if k == "pos":
                continue
            if k == "func":
                out["func"] = {"name": getattr(v, "name", str(v))}
                continue
            out[k] = ast_json(v)
        return out
    if isinstance(node, list | tuple):
        return [ast_json(x) for x in node]
    if hasattr(node, "name") and hasattr(node, "type") and hasattr(node, "value"):  # a Matcher
        return {"name": node.name, "type": node.type, "value": node.value}
    if isinstance(node, str | int | float | bool) or node is None:
        return node if not isinstance(node, float) or node == node else "NaN"
    return str(node)


# --- small helpers ----------------------------------------------------------------------------

def _pool(t) -> str:
    return t.scrape_pool


def _by_pool(targets: list) -> list:
    return sorted(targets, key=_pool)


def _target_metadata(t) -> dict[str, dict]:
    """Family -> {"type", "help", "unit"} as the target's last scrape declared them (``# TYPE``...)."""
    out = {}
    for name, entry in t.metadata.items():
        mtype = entry.get("type") or "unknown"
        out[name] = {"type": "unknown" if mtype == "untyped" else mtype,  # text format's untyped
                     "help": entry.get("help") or "", "unit": entry.get("unit") or ""}
    return out


def _metadata_limit(p: Params, default: int, name: str = "limit") -> int:
    v = p.get(name)
    if v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise ApiError("bad_data", f"{name} must be a number") from None


def _rule_groups(server) -> list:
    rm = getattr(server, "rule_manager", None)
    return [] if rm is None else list(rm.groups.values())


def _rule_type(rule) -> str:
    return "alerting" if rule.spec.alert else "recording"


def _seconds(f: float) -> float | int:
    """Seconds as the JSON number upstream writes: ``60``, not ``60.0``."""
    return int(f) if f == int(f) else f


def _plain(node):
    """YAML nodes that remember their lines (dict/list subclasses) as plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    return node


def _flag_str(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)

