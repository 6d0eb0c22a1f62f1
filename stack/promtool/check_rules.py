"""``workshop promtool check rules FILE...``: validate rule files as the real promtool does."""

from __future__ import annotations

import sys

from stack.config import ConfigError
from stack.rules.rulefile import load_rule_file


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: workshop promtool check rules FILE...", file=sys.stderr)
        return 2
    failed = False
    for path in argv:
        print(f"Checking {path}")
        try:
            groups = load_rule_file(path)
        except ConfigError as e:
            failed = True
            print(f"  FAILED:\n{e}\n")
            continue
        n = sum(len(g.rules) for g in groups)
        print(f"  SUCCESS: {n} rules found\n")
    return 1 if failed else 0
