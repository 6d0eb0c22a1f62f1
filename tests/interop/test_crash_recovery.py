"""A real ``workshop prometheus`` killed with SIGKILL loses no sample it had committed.

The server scrapes a toy service every 100 ms into a storage folder; we read what it has stored
through its API (so every sample we see was committed), kill it with SIGKILL while it keeps
scraping, start it again on the same folder and ask again: everything seen before the kill must
still be there, with the same values.
"""

from __future__ import annotations

import signal
import time
import urllib.parse

from tests.support import WORKSHOP, free_port, get_json, poll, running, wait_http

CONFIG = """
global:
  scrape_interval: 100ms
  scrape_timeout: 100ms
scrape_configs:
  - job_name: toyservice
    static_configs:
      - targets: ['127.0.0.1:{toy}']
"""


def stored_samples(url: str, end: float) -> dict[tuple, list]:
    query = urllib.parse.urlencode({"query": "http_requests_total[1h]", "time": f"{end:.3f}"})
    result = get_json(f"{url}/api/v1/query?{query}")["data"]["result"]
    return {tuple(sorted(r["metric"].items())): r["values"] for r in result}


def test_sigkill_loses_no_committed_sample(tmp_path):
    toy, prom = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.format(toy=toy))
    data = tmp_path / "data"
    server_cmd = [*WORKSHOP, "prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                  f"--web.listen-address=127.0.0.1:{prom}"]
    url = f"http://127.0.0.1:{prom}"
    toy_cmd = [*WORKSHOP, "toyservice", "--listen", f"127.0.0.1:{toy}", "--seed", "3"]
    load_cmd = [*WORKSHOP, "load", "--target", f"127.0.0.1:{toy}", "--rate", "50"]

    with running(toy_cmd, f"http://127.0.0.1:{toy}/metrics", tmp_path / "toy.log"), \
            running(load_cmd, None, tmp_path / "load.log"):
        with running(server_cmd, f"{url}/-/ready", tmp_path / "prom1.log") as first:
            # Let it commit a few hundred scrapes' worth, then read them back and kill it mid-scrape.
            def thirty_scrapes():
                s = stored_samples(url, time.time() + 1)
                return s if s and min(map(len, s.values())) >= 30 else None

            before = poll(thirty_scrapes, timeout=60, what="30 scrapes stored")
            first.send_signal(signal.SIGKILL)
            killed_at = time.time()
            first.wait(timeout=10)
        with running(server_cmd, f"{url}/-/ready", tmp_path / "prom2.log"):
            wait_http(f"{url}/-/ready")
            after = stored_samples(url, killed_at + 1)

    assert before, "nothing was stored before the kill"
    for series, samples in before.items():
        kept = {t: v for t, v in after.get(series, [])}
        missing = [(t, v) for t, v in samples if kept.get(t) != v]
        assert not missing, f"{series}: {len(missing)} committed samples lost, e.g. {missing[:3]}"
