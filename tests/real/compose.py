"""Reading docker-compose.yml the way Docker would, without a Docker engine (helpers for tests/real)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import yaml

from workshop.supervisor import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).parent / "data" / "compose-spec.json"


def load_compose() -> dict:
    """The compose file with YAML merge keys (``<<: *anchor``) applied, as Compose applies them."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def project_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(host path, container path) of each bind mount of the repository (short syntax, ``./...``)."""
    mounts = []
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts.append((source, target))
    return mounts


def container_files(service: dict, root: Path) -> Path:
    """Lay out the repository files a service mounts under ``root``, at their container paths.

    This is the filesystem the service's program sees (for its configs), so that the real promtool
    can check the compose Prometheus exactly as it will read its files.
    """
    for source, target in bind_mounts(service):
        host = REPO_ROOT / source
        dest = root / target.lstrip("/")
        if host.is_dir():
            shutil.copytree(host, dest, dirs_exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(host, dest)
    return root


def flag(service: dict, name: str) -> str | None:
    """The value of ``--name=value`` in a service's command."""
    for part in service.get("command") or []:
        if part.startswith(f"--{name}="):
            return part.split("=", 1)[1]
    return None
