"""``workshop promtool check config FILE...``: validate prometheus.yml the way the real promtool does.

Same output shape as upstream, so the workshop's instructions read the same for both tools:
``Checking F`` then `` SUCCESS: F is valid prometheus config file syntax``, or ``  FAILED: ...``
with the file:line of the problem, and exit code 1 when any file failed.
"""

from __future__ import annotations

import glob
import sys

from stack.config.prometheus import load_config
from stack.config.yamlutil import ConfigError


def main(argv: list[str]) -> int:
    files = [a for a in argv if not a.startswith("-")]
    if not files:
        print("usage: workshop promtool check config FILE...", file=sys.stderr)
        return 2
    failed = False
    for path in files:
        print(f"Checking {path}")
        try:
            config = load_config(path)
        except ConfigError as e:
            print(f"  FAILED: {e}", file=sys.stderr)
            print()
            failed = True
            continue
        rule_files = sorted({f for pattern in config.rule_files for f in glob.glob(pattern)})
        if config.rule_files:
            print(f"  SUCCESS: {len(rule_files)} rule files found")
        print(f" SUCCESS: {path} is valid prometheus config file syntax")
        print()
        if rule_files and _check_rules(rule_files) != 0:
            failed = True
    return 1 if failed else 0


def _check_rules(paths: list[str]) -> int:
    """Like upstream, go on to check the rule files the config names (when stack.rules is present)."""
    try:
        from stack.promtool.check_rules import main as check_rules
    except ImportError:
        return 0
    return check_rules(paths)
