"""Relabeling: rewrite a label set with an ordered list of rules, or drop it.

One mechanism serves three places, as upstream's ``model/relabel`` does: ``relabel_configs`` decide
which discovered targets are scraped and with which labels, ``metric_relabel_configs`` rewrite or
drop scraped samples, and ``alert_relabel_configs`` rewrite alerts before they are sent. So the
rule type, its validation and the actions live here once, and every caller hands in a plain
``dict`` of labels.

The actions are declared once in :data:`ACTIONS` (name -> function). Adding an action is one
function and one entry; nothing else branches on the action name.

Two details that surprise people and are therefore kept exactly as upstream:

* ``regex`` is fully anchored: ``foo`` does not match ``foobar``.
* ``replacement`` and ``target_label`` use Go's template expansion, where ``$1x`` names a group
  called ``1x`` (which expands to nothing). Python's ``re`` templates differ, so :func:`expand`
  implements Go's rules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from stack.config.yamlutil import ConfigError, check_keys
from stack.model import RegexError, compile_anchored

# Upstream relabel.DefaultRelabelConfig.
DEFAULT_SEPARATOR = ";"
DEFAULT_REGEX = "(.*)"
DEFAULT_REPLACEMENT = "$1"
DEFAULT_ACTION = "replace"

LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# A target_label may contain $-references that expand to a valid name (upstream relabelTarget).
_TARGET_WITH_REFS_RE = re.compile(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

RELABEL_KEYS = ("source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action")


@dataclass(frozen=True)
class RelabelConfig:
    """One relabeling rule, with upstream's defaults."""

    source_labels: tuple[str, ...] = ()
    separator: str = DEFAULT_SEPARATOR
    regex: str = DEFAULT_REGEX
    modulus: int = 0
    target_label: str = ""
    replacement: str = DEFAULT_REPLACEMENT
    action: str = DEFAULT_ACTION
    _compiled: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "action", self.action.lower())
        try:
            object.__setattr__(self, "_compiled", compile_anchored(self.regex))
        except RegexError as e:
            raise ValueError(str(e)) from None
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with upstream's wording for an inconsistent rule."""
        a = self.action
        if a not in ACTIONS:
            raise ValueError(f'unknown relabel action "{a}"')
        if a == "hashmod" and self.modulus == 0:
            raise ValueError("relabel configuration for hashmod requires non-zero modulus")
        if (
            a in ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
            and not self.target_label
        ):
            raise ValueError(f"relabel configuration for {a} action requires 'target_label' value")
        if a == "replace" and not _TARGET_WITH_REFS_RE.match(self.target_label):
            raise ValueError(f"\"{self.target_label}\" is invalid 'target_label' for {a} action")
        if a in ("hashmod", "lowercase", "uppercase", "keepequal", "dropequal") and not LABEL_NAME_RE.match(
            self.target_label
        ):
            raise ValueError(f"\"{self.target_label}\" is invalid 'target_label' for {a} action")
        if a in ("lowercase", "uppercase") and self.replacement != DEFAULT_REPLACEMENT:
            raise ValueError(f"'replacement' can not be set for {a} action")
        if a == "labelmap" and not _TARGET_WITH_REFS_RE.match(self.replacement):
            raise ValueError(f"\"{self.replacement}\" is invalid 'replacement' for {a} action")
        if a in ("keepequal", "dropequal") and (
            self.regex != DEFAULT_REGEX
            or self.modulus != 0
            or self.separator != DEFAULT_SEPARATOR
            or self.replacement != DEFAULT_REPLACEMENT
        ):
            raise ValueError(
                f"{a} action requires only 'source_labels' and `target_label`, and no other fields"
            )
        if a in ("labeldrop", "labelkeep") and (
            self.source_labels
            or self.target_label
            or self.modulus != 0
            or self.separator != DEFAULT_SEPARATOR
            or self.replacement != DEFAULT_REPLACEMENT
        ):
            raise ValueError(f"{a} action requires only 'regex', and no other fields")

    def match(self, value: str):
        return self._compiled.match(value)


def parse_relabel_configs(node: Any, what: str = "relabel_configs") -> tuple[RelabelConfig, ...]:
    """Build rules from a YAML list (a yamlutil Sequence of Mappings), errors with file:line."""
    if node is None:
        return ()
    if not isinstance(node, list):
        raise ConfigError(
            f"{what} must be a list", getattr(node, "filename", None), getattr(node, "line", None)
        )
    return tuple(parse_relabel_config(item) for item in node)


def parse_relabel_config(m: Any) -> RelabelConfig:
    check_keys(m, RELABEL_KEYS, "relabel_config")
    kwargs: dict[str, Any] = {}
    for key in RELABEL_KEYS:
        if key not in m or m[key] is None:
            continue
        value = m[key]
        if key == "source_labels":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise m.error("source_labels must be a list of label names", key)
            for v in value:
                if not LABEL_NAME_RE.match(v):
                    raise m.error(f'"{v}" is not a valid label name', key)
            kwargs[key] = tuple(value)
        elif key == "modulus":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise m.error(f"modulus must be a non-negative integer, got {value!r}", key)
            kwargs[key] = value
        else:
            kwargs[key] = str(value)
    try:
        return RelabelConfig(**kwargs)
    except ValueError as e:
        raise m.error(str(e), "action" if "action" in m else None) from None


# --- applying rules --------------------------------------------------------------------------


def process(labels: dict[str, str], rules: Iterable[RelabelConfig]) -> dict[str, str] | None:
    """Apply ``rules`` in order to a copy of ``labels``; None means "dropped".

    Empty values are treated as absent and removed from the result, as the label builder upstream does.
    """
    lb = {k: v for k, v in labels.items() if v != ""}
    for rule in rules:
        if not ACTIONS[rule.action](rule, lb):
            return None
    return lb


def _joined(rule: RelabelConfig, lb: dict[str, str]) -> str:
    return rule.separator.join(lb.get(name, "") for name in rule.source_labels)


def _set(lb: dict[str, str], name: str, value: str) -> None:
    if value == "":
        lb.pop(name, None)
    else:
        lb[name] = value


# Each action mutates the label dict and returns False to drop the target/sample.
def _replace(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    m = rule.match(_joined(rule, lb))
    if m is None:
        return True
    target = expand(rule.target_label, m)
    if not LABEL_NAME_RE.match(target):
        return True
    _set(lb, target, expand(rule.replacement, m))
    return True


def _keep(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    return rule.match(_joined(rule, lb)) is not None


def _drop(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    return rule.match(_joined(rule, lb)) is None


def _keepequal(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    return _joined(rule, lb) == lb.get(rule.target_label, "")


def _dropequal(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    return _joined(rule, lb) != lb.get(rule.target_label, "")


def _hashmod(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    # Upstream: the MD5 digest's last 8 bytes as a big-endian uint64, modulo `modulus`.
    digest = hashlib.md5(_joined(rule, lb).encode(), usedforsecurity=False).digest()
    _set(lb, rule.target_label, str(int.from_bytes(digest[8:], "big") % rule.modulus))
    return True


def _labelmap(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    for name, value in list(lb.items()):
        m = rule.match(name)
        if m is not None:
            _set(lb, expand(rule.replacement, m), value)
    return True


def _labeldrop(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    for name in [n for n in lb if rule.match(n) is not None]:
        del lb[name]
    return True


def _labelkeep(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    for name in [n for n in lb if rule.match(n) is None]:
        del lb[name]
    return True


def _lowercase(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    _set(lb, rule.target_label, _joined(rule, lb).lower())
    return True


def _uppercase(rule: RelabelConfig, lb: dict[str, str]) -> bool:
    _set(lb, rule.target_label, _joined(rule, lb).upper())
    return True


ACTIONS: dict[str, Callable[[RelabelConfig, dict[str, str]], bool]] = {
    "replace": _replace,
    "keep": _keep,
    "drop": _drop,
    "keepequal": _keepequal,
    "dropequal": _dropequal,
    "hashmod": _hashmod,
    "labelmap": _labelmap,
    "labeldrop": _labeldrop,
    "labelkeep": _labelkeep,
    "lowercase": _lowercase,
    "uppercase": _uppercase,
}


# --- Go template expansion -------------------------------------------------------------------


def expand(template: str, match) -> str:
    """Expand ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$`` the way Go's Regexp.Expand does.

    The name after a bare ``$`` is the longest run of letters, digits and underscores; a group that
    does not exist or did not participate expands to "". A ``$`` not followed by a name stays as is.
    """
    if "$" not in template:
        return template
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            break
        out.append(template[i:j])
        i = j + 1
        if i < n and template[i] == "$":
            out.append("$")
            i += 1
            continue
        if i < n and template[i] == "{":
            end = template.find("}", i + 1)
            name = template[i + 1 : end] if end > 0 else ""
            if end < 0 or not name or not all(c in _NAME_CHARS for c in name):
                out.append("$")  # malformed: Go keeps the '$' as text
                continue
            i = end + 1
        else:
            k = i
            while k < n and template[k] in _NAME_CHARS:
                k += 1
            if k == i:
                out.append("$")
                continue
            name, i = template[i:k], k
        out.append(_group(match, name))
    return "".join(out)


def _group(match, name: str) -> str:
    try:
        value = match.group(int(name)) if name.isdigit() else match.group(name)
    except (IndexError, KeyError):  # no such group: Go expands it to nothing
        return ""
    return value or ""
