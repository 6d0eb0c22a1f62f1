"""Dispatch ``workshop promtool <command> <subcommand> ...`` to one function per command.

Mirrors the real promtool's command words so its documentation applies:
``check config F``, ``check rules F...``, ``check metrics`` (stdin), ``test rules F...``,
``query instant URL EXPR``, ``query range URL EXPR``,
``tsdb create-blocks-from openmetrics INPUT DIR``.
Each target is ``module:function``; the function takes the remaining arguments and returns the
exit code (0 ok, 1 problems found, 2 usage), as promtool does.
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS: dict[tuple[str, ...], str] = {
    ("check", "config"): "stack.promtool.check_config:main",
    ("check", "rules"): "stack.promtool.check_rules:main",
    ("check", "metrics"): "stack.promtool.check_metrics:main",
    ("test", "rules"): "stack.promtool.test_rules:main",
    ("query", "instant"): "stack.promtool.query:instant",
    ("query", "range"): "stack.promtool.query:range_",
    ("tsdb", "create-blocks-from", "openmetrics"): "stack.promtool.backfill:main",
}

USAGE = "usage: workshop promtool " + " | ".join(" ".join(words) + " ..." for words in SUBCOMMANDS)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for words, target in SUBCOMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            module_name, func_name = target.split(":")
            try:
                func = getattr(importlib.import_module(module_name), func_name)
            except (ModuleNotFoundError, AttributeError):
                print(f"promtool: '{' '.join(words)}' is not available yet", file=sys.stderr)
                return 1
            return int(func(argv[len(words):]) or 0)
    print(USAGE, file=sys.stderr)
    return 2
