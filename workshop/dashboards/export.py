"""``workshop dashboards export [--check] [DIR]``: the shipped dashboards as Grafana provisioning JSON.

The YAML under ``workshop/dashboards/shipped`` is the one source; ``grafana/dashboards/*.json`` is
generated from it so that Grafana (docker-compose) shows the same dashboards as the notebooks.
``--check`` writes nothing and fails when a committed file differs from what would be generated,
which is how CI (and a test) catches a YAML edit without a re-export.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workshop.dashboards import SHIPPED, shipped
from workshop.dashboards.grafana import export_json

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"


def generated() -> dict[str, str]:
    """File name -> JSON text, for every shipped dashboard."""
    return {f"{name}.json": export_json(shipped(name)) for name in SHIPPED}


def stale(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of files in ``directory`` that are missing or differ from the generated JSON."""
    out = []
    for name, text in generated().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workshop dashboards", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write grafana/dashboards/*.json from the shipped dashboards")
    export.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    export.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.directory)
        for name in names:
            print(f"{args.directory / name}: stale; run `workshop dashboards export`", file=sys.stderr)
        return 1 if names else 0
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, text in generated().items():
        (args.directory / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.directory / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
