"""Rule files in the upstream YAML format, validated strictly with file:line errors.

A rule file copied from the Prometheus docs must load here, and a mistake in one must be reported
the way ``promtool check rules`` reports it, pointing at the line. Parsing is strict as upstream:
an unknown key anywhere is an error (spec rules.md §1). Expressions are parsed and alert templates
test-parsed at load time, so a broken rule never reaches the evaluator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from stack.config import ConfigError, check_keys, load_yaml, parse_duration_ms
from stack.config.yamlutil import Mapping
from stack.promql.parser import parse_expr
from stack.rules.template import Template
from stack.rules.template_funcs import TemplateError

_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

GROUP_KEYS = ("name", "interval", "limit", "query_offset", "labels", "rules")
RULE_KEYS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")


@dataclass
class RuleSpec:
    """One rule as written in the file (record XOR alert)."""

    expr: str
    record: str | None = None
    alert: str | None = None
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    line: int | None = None

    @property
    def name(self) -> str:
        return self.record or self.alert or ""

    def canonical(self) -> str:
        """Text that identifies the rule for "unchanged on reload" decisions."""
        return repr(
            (
                self.record,
                self.alert,
                self.expr,
                self.for_ms,
                self.keep_firing_for_ms,
                sorted(self.labels.items()),
                sorted(self.annotations.items()),
            )
        )


@dataclass
class GroupSpec:
    file: str
    name: str
    interval_ms: int | None  # None: use global.evaluation_interval
    limit: int = 0
    query_offset_ms: int | None = None  # None: use global.rule_query_offset
    labels: dict[str, str] = field(default_factory=dict)
    rules: list[RuleSpec] = field(default_factory=list)


def load_rule_file(path: str | Path, text: str | None = None) -> list[GroupSpec]:
    """Parse and validate one rule file. Raises ConfigError naming the file and line."""
    doc = load_yaml(path, text)
    filename = str(path)
    if not isinstance(doc, dict):
        raise ConfigError("rule file must be a mapping with a 'groups' list", filename, 1)
    check_keys(doc, ("groups",), "rulefmt.RuleGroups")
    groups_raw = doc.get("groups") or []
    if not isinstance(groups_raw, list):
        raise doc.error("groups must be a list", "groups")
    groups: list[GroupSpec] = []
    seen: set[str] = set()
    for g in groups_raw:
        group = _group(g, filename)
        if group.name in seen:
            raise g.error(f"{group.name}: groupname must be unique within a file", "name")
        seen.add(group.name)
        groups.append(group)
    return groups


def _group(g: Mapping, filename: str) -> GroupSpec:
    check_keys(g, GROUP_KEYS, "rulefmt.RuleGroup")
    name = g.get("name")
    if not name or not isinstance(name, str):
        raise g.error("Groupname must not be empty", "name")
    labels = _labels(g, "labels", allow_templates=False)
    group = GroupSpec(
        file=filename,
        name=name,
        interval_ms=_duration(g, "interval") or None,
        limit=_int(g, "limit"),
        query_offset_ms=_duration(g, "query_offset") if "query_offset" in g else None,
        labels=labels,
    )
    rules = g.get("rules") or []
    if not isinstance(rules, list):
        raise g.error("rules must be a list", "rules")
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            raise ConfigError("rule must be a mapping", filename, rules.line_of(i))
        group.rules.append(_rule(r, name))
    return group


def _rule(r: Mapping, group: str) -> RuleSpec:
    check_keys(r, RULE_KEYS, "rulefmt.Rule")
    record, alert = r.get("record"), r.get("alert")
    where = f"group {group!r}"
    if record and alert:
        raise r.error(f"{where}: only one of 'record' and 'alert' must be set", "alert")
    if not record and not alert:
        raise r.error(f"{where}: one of 'record' or 'alert' must be set")
    expr = r.get("expr")
    if expr is None or str(expr).strip() == "":
        raise r.error(f"{where}, rule {record or alert!r}: field 'expr' must be set in rule", "expr")
    expr = str(expr)
    try:
        parse_expr(expr)
    except Exception as e:  # ParseError: the message already carries line:col of the expression
        raise r.error(f"{where}, rule {record or alert!r}: could not parse expression: {e}", "expr") from None
    spec = RuleSpec(
        expr=expr,
        record=record,
        alert=alert,
        line=r.line,
        for_ms=_duration(r, "for"),
        keep_firing_for_ms=_duration(r, "keep_firing_for"),
        labels=_labels(r, "labels", allow_templates=bool(alert)),
        annotations=_labels(r, "annotations", allow_templates=bool(alert), annotations=True),
    )
    if record is not None:
        if not isinstance(record, str) or not _METRIC_NAME_RE.match(record):
            raise r.error(f"{where}: invalid recording rule name: {record}", "record")
        for key, what in (("for_ms", "for"), ("keep_firing_for_ms", "keep_firing_for")):
            if getattr(spec, key):
                raise r.error(f"{where}, rule {record!r}: invalid field '{what}' in recording rule", what)
        if spec.annotations:
            raise r.error(
                f"{where}, rule {record!r}: invalid field 'annotations' in recording rule", "annotations"
            )
    elif not isinstance(alert, str):
        raise r.error(f"{where}: invalid alert name", "alert")
    return spec


def _labels(m: Mapping, key: str, allow_templates: bool, annotations: bool = False) -> dict[str, str]:
    raw = m.get(key) or {}
    if not isinstance(raw, dict):
        raise m.error(f"{key} must be a mapping", key)
    out: dict[str, str] = {}
    for name, value in raw.items():
        line = raw.line_of(name) if isinstance(raw, Mapping) else m.line_of(key)
        if not isinstance(name, str) or not _LABEL_NAME_RE.match(name):
            what = "annotation" if annotations else "label"
            raise ConfigError(f"invalid {what} name: {name}", m.filename, line)
        if name == "__name__" and not annotations:
            raise ConfigError("invalid label name: __name__", m.filename, line)
        text = "" if value is None else (value if isinstance(value, str) else str(value))
        if allow_templates:
            try:
                Template(text, name=f"__alert_{name}")
            except TemplateError as e:
                raise ConfigError(f"{key}/{name}: {e}", m.filename, line) from None
        out[name] = text
    return out


def _duration(m: Mapping, key: str) -> int:
    if key not in m or m[key] is None:
        return 0
    try:
        return parse_duration_ms(str(m[key]))
    except ValueError as e:
        raise m.error(str(e), key) from None


def _int(m: Mapping, key: str) -> int:
    value = m.get(key, 0) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise m.error(f"{key} must be a non-negative integer", key)
    return value
