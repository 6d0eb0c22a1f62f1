"""Chapter 9: the real stack. Source of notebooks/09-real-stack.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 9. The real stack, and what changes at scale
#
# **Estimated time: 15 minutes** (mostly reading; the live parts need Docker or the Debian packages).
#
# Nothing you wrote in this workshop is specific to the kit. The same `stack/prometheus.yml`, rule files,
# `stack/alertmanager.yml` and dashboards run upstream's Prometheus, Alertmanager, Pushgateway, node
# exporter and Grafana:
#
# ```sh
# workshop down                 # free the ports used by the kit's own stack
# docker compose up -d --build  # the real binaries, pinned versions, with Grafana on :3000
# workshop real up              # or: the same configs on the Debian packages, without Docker
# ```
#
# `docs/real-stack.md` has the details (volumes, classroom mode, differences between versions).

# %%
from pathlib import Path

import yaml

import stack
from workshop.checks._common import live_stack

ROOT = Path(stack.__file__).resolve().parent.parent

# %% tags=["nbval-ignore-output"]
# The pinned image versions are bumped on purpose from time to time: not compared by nbval.
compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
for name, service in compose["services"].items():
    print(f"{name:16} {service.get('image', '(built from the kit: ' + str(service.get('build')) + ')')}")

# %% [markdown]
# The configuration files are mounted from the repository, so an edit shows up in both stacks:

# %%
prometheus_yml = yaml.safe_load((ROOT / "stack" / "prometheus.yml").read_text())
print("rule_files:", prometheus_yml.get("rule_files"))
print("scrape jobs:", [job["job_name"] for job in prometheus_yml["scrape_configs"]])

# %% [markdown]
# ## Federation: a Prometheus that scrapes Prometheus
#
# One Prometheus per team or data centre keeps the detail; a global one *federates* the aggregates it
# needs from each, over `/federate`:
#
# ```yaml
# scrape_configs:
#   - job_name: federate
#     honor_labels: true              # keep the original job/instance labels
#     metrics_path: /federate
#     params:
#       'match[]': ['{__name__=~"job:.*"}']   # recording rules only: aggregates, not every series
#     static_configs:
#       - targets: ['prometheus-eu:9090', 'prometheus-us:9090']
# ```
#
# Federate aggregates (your recording rules from chapter 6 are exactly that), never everything: a global
# Prometheus holding every series of every data centre is the problem federation was meant to avoid.

# %% tags=["nbval-ignore-output"]
# Needs a live stack (`workshop up`), and its values follow the wall clock: not compared by nbval.
import urllib.parse
import urllib.request

if live_stack() is None:
    print("skipped: no live stack")
else:
    query = urllib.parse.urlencode({"match[]": '{__name__=~"job:.*"}'})
    with urllib.request.urlopen(f"http://127.0.0.1:9090/federate?{query}", timeout=5) as r:
        print("\n".join(r.read().decode().splitlines()[:8]))

# %% [markdown]
# ## Remote write: long-term and global storage
#
# Prometheus' local TSDB is meant for weeks, not years. `remote_write` streams every sample, as it is
# scraped, to a long-term store (Thanos, Cortex/Mimir, VictoriaMetrics, or another Prometheus started
# with `--web.enable-remote-write-receiver`):
#
# ```yaml
# remote_write:
#   - url: http://mimir:9009/api/v1/push
#     write_relabel_configs:            # send less: drop what nobody queries in the long term
#       - source_labels: [__name__]
#         regex: 'go_.*|process_.*'
#         action: drop
# ```
#
# ## What changes at scale
#
# * **Service discovery** instead of static targets: Kubernetes, Consul, EC2, or `file_sd_configs`
#   written by your deployment tool. Relabelling decides what is scraped and how it is labelled.
# * **Cardinality** is the cost driver: a label with user IDs can take a server down. Watch
#   `prometheus_tsdb_head_series` and `scrape_series_added`; set `sample_limit` per job.
# * **High availability**: run two identical Prometheus servers; Alertmanager deduplicates their alerts.
#   Run Alertmanager as a cluster (`--cluster.peer`) so silences and notification logs are shared.
# * **Recording rules** keep dashboards fast and federation small; **alerts on symptoms** keep pagers
#   quiet as the number of services grows.
# * **Meta-monitoring**: something outside must alert when Prometheus itself is down — a second
#   Prometheus, or a dead man's switch alert (`vector(1)`) that a receiver expects to keep arriving.
