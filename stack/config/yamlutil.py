"""YAML loading that remembers where each value came from, for errors that name file and line.

Every config of the stack (``prometheus.yml``, rule files, ``alertmanager.yml``, promtool test
files) is loaded with :func:`load_yaml`. It uses PyYAML's *safe* loader (no Python objects can be
constructed from a config) and records, for every mapping, the line of each key, so validation
code can say ``prometheus.yml:12: unknown key "scrape_intervall" in scrape config`` as upstream
does, instead of pointing at nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from stack.config.duration import parse_duration_ms


class ConfigError(ValueError):
    """A user mistake in a config file. ``str()`` reads ``file:line: message``."""

    def __init__(self, message: str, filename: str | None = None, line: int | None = None):
        self.message = message
        self.filename = filename
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.filename, self.line) if p is not None)
        return f"{where}: {self.message}" if where else self.message


class Mapping(dict):
    """A dict from YAML that also knows its own line and the line of each key (1-based)."""

    filename: str | None = None
    line: int | None = None
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)

    def error(self, message: str, key: str | None = None) -> ConfigError:
        """A ConfigError pointing at ``key`` (or at this mapping)."""
        return ConfigError(message, self.filename, self.line_of(key) if key else self.line)


class Sequence(list):
    """A list from YAML that knows its own line and each item's line."""

    filename: str | None = None
    line: int | None = None
    item_lines: list[int]

    def line_of(self, index: int) -> int | None:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def _make_loader(filename: str | None) -> type[yaml.SafeLoader]:
    class _LineLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Mapping:
        loader.flatten_mapping(node)
        m = Mapping()
        m.filename, m.line, m.key_lines = filename, node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ConfigError("mapping keys must be scalars", filename, key_node.start_mark.line + 1)
            if key in m:
                raise ConfigError(f"duplicate key {key!r}", filename, key_node.start_mark.line + 1)
            m[key] = loader.construct_object(value_node, deep=True)
            m.key_lines[key] = key_node.start_mark.line + 1
        return m

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> Sequence:
        s = Sequence(loader.construct_object(child, deep=True) for child in node.value)
        s.filename, s.line = filename, node.start_mark.line + 1
        s.item_lines = [child.start_mark.line + 1 for child in node.value]
        return s

    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return _LineLoader


def load_yaml(source: str | Path, text: str | None = None) -> Any:
    """Load one YAML document from ``source`` (a path), or from ``text`` naming it ``source``.

    Syntax errors become ConfigError with the line PyYAML reports. An empty document is ``{}``.
    """
    filename = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read file: {e.strerror}", filename) from None
    try:
        data = yaml.load(text, Loader=_make_loader(filename))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"YAML syntax error: {e.problem or e.context}", filename, line) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {e}", filename) from None
    if data is None:
        data = Mapping()
        data.filename, data.line, data.key_lines = filename, 1, {}
    return data


def check_keys(mapping: Any, allowed: Iterable[str], what: str) -> None:
    """Reject unknown keys, as upstream's strict YAML unmarshalling does ("field x not found")."""
    if not isinstance(mapping, dict):
        raise _error_for(mapping, f"{what} must be a mapping, got {type(mapping).__name__}")
    allowed = set(allowed)
    for key in mapping:
        if key not in allowed:
            raise _error_for(mapping, f"field {key} not found in type {what}", key)


def _error_for(node: Any, message: str, key: str | None = None) -> ConfigError:
    if isinstance(node, Mapping):
        return node.error(message, key)
    return ConfigError(message, getattr(node, "filename", None), getattr(node, "line", None))


# --- typed values from mappings (each error names the key's line) -------------------------------


def empty_mapping(parent: Mapping, key: str) -> Mapping:
    m = Mapping()
    m.filename, m.line, m.key_lines = parent.filename, parent.line_of(key), {}
    return m


def get_list(m: Any, key: str) -> list:
    value = m.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise m.error(f"{key} must be a list", key)
    return value


def get_string_list(m: Any, key: str) -> list[str]:
    items = get_list(m, key)
    if not all(isinstance(v, str) for v in items):
        raise m.error(f"{key} must be a list of strings", key)
    return items


def get_duration_ms(m: Any, key: str, default: int) -> int:
    if key not in m or m[key] is None:
        return default
    try:
        return parse_duration_ms(str(m[key]))
    except ValueError as e:
        raise m.error(str(e), key) from None


def get_bool(m: Any, key: str, default: bool) -> bool:
    value = m.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise m.error(f"{key} must be true or false, got {value!r}", key)
    return value


def get_uint(m: Any, key: str) -> int:
    value = m.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise m.error(f"{key} must be a non-negative integer, got {value!r}", key)
    return value


SIZE_UNITS = {
    "B": 1,
    "KB": 1 << 10,
    "MB": 1 << 20,
    "GB": 1 << 30,
    "TB": 1 << 40,
    "KIB": 1 << 10,
    "MIB": 1 << 20,
    "GIB": 1 << 30,
    "TIB": 1 << 40,
}


def get_size(m: Any, key: str) -> int:
    """Byte sizes like upstream's units.Base2Bytes: ``100MB`` = 100 MiB; a bare integer is bytes."""
    value = m.get(key) or 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value).strip().upper()
    for unit in sorted(SIZE_UNITS, key=len, reverse=True):
        number = text[: -len(unit)]
        if text.endswith(unit) and number.isdigit():
            return int(number) * SIZE_UNITS[unit]
    raise m.error(f'{key}: invalid size "{value}" (use e.g. 10MB)', key)
