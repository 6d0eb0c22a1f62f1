"""Start Debian's real Prometheus (2.42) for interop tests, and always stop it again."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.support import free_port, require_binary, running


@contextlib.contextmanager
def real_prometheus(workdir: Path, config_text: str = "global: {}\n", *flags: str,
                    data_dir: Path | None = None, listen_port: int | None = None):
    """Yield the base URL of a real Prometheus with ``config_text``; its log ends up in workdir."""
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(config_text)
    url = f"http://127.0.0.1:{listen_port or free_port()}"
    cmd = [binary, f"--config.file={config}", f"--storage.tsdb.path={data_dir or workdir / 'data'}",
           f"--web.listen-address={url.removeprefix('http://')}", *flags]
    with running(cmd, url + "/-/ready", workdir / "prometheus.log"):
        yield url
