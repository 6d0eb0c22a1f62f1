"""Chapter 5: host monitoring. Source of notebooks/05-host-monitoring.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 5. Host monitoring: the node exporter
#
# **Estimated time: 15 minutes.** (Not part of the 90-minute core path.)
#
# Services get RED; the machines under them get **USE**: **U**tilisation, **S**aturation, **E**rrors of
# each resource. The node exporter exposes the host's CPU, memory, disks, filesystems and network under
# names every Prometheus user knows (`node_cpu_seconds_total`, `node_filesystem_avail_bytes` ...). The
# kit ships its own, with the same names; in the simulation it describes a modelled host whose disk
# slowly fills up.

# %%
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from stack.node_exporter import NodeCollector
from stack.node_exporter.textfile import TextfileCollector
from workshop.checks import ch05 as ex
from workshop.checks import shared_simulation

sim = shared_simulation()
sim.query('{job="node", __name__=~"node_(cpu_seconds_total|memory_MemTotal_bytes|load1)"}').head(4)

# %% [markdown]
# ## Utilisation
#
# `node_cpu_seconds_total` counts, per CPU and per `mode` (idle, user, system, iowait ...), the seconds
# spent in that mode. Its rate is the share of each second: the CPU is *utilised* when it is not idle.
#
# **q1.** The CPU utilisation (0–1) of each host over 5 minutes, averaged over its CPUs.

# %%
q1 = '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))'  # SOLUTION
ex.q1.check()

# %% [markdown]
# **q2.** The memory utilisation (0–1): the share of memory that is *not* available. Available includes
# caches the kernel can give back (`MemAvailable`), which `MemFree` does not.

# %%
q2 = "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"  # SOLUTION
ex.q2.check()

# %% [markdown]
# Saturation shows as `node_load1` above the number of CPUs, or memory being swapped; errors as
# `node_filesystem_device_error` or the network's error counters.
#
# ## Predicting disk-full with `predict_linear`
#
# An alert "disk 90% full" fires too late for a fast-filling disk and too early for a slow one. Predict
# instead: `predict_linear(v[10m], 4 * 3600)` fits a line through the last 10 minutes of the gauge and
# extrapolates it 4 hours ahead. Negative means "full within 4 hours".
#
# **q3.** The predicted available bytes of the root filesystem (`mountpoint="/"`) 4 hours from now,
# fitted over the last 10 minutes.

# %%
q3 = 'predict_linear(node_filesystem_avail_bytes{mountpoint="/"}[10m], 4 * 3600)'  # SOLUTION
ex.q3.check()

# %% [markdown]
# How long until the disk is full, at the current rate of filling? (`deriv` is the slope, bytes/s.)

# %%
sim.query('node_filesystem_avail_bytes{mountpoint="/"} / -deriv(node_filesystem_avail_bytes{mountpoint="/"}[10m]) / 3600')[["mountpoint", "value"]].round(1)

# %% [markdown]
# The shipped alert `DiskWillFillIn4Hours` (`stack/rules/workshop.rules.yml`) is this prediction `< 0`,
# for 5 minutes.
#
# ## The textfile collector
#
# Scripts and cron jobs that cannot serve HTTP write exposition text into `*.prom` files in a directory;
# the node exporter serves them with the host's metrics (`--collector.textfile.directory`). A broken file
# is skipped and flagged with `node_textfile_scrape_error`, so it never poisons the scrape.

# %%
folder = Path(tempfile.mkdtemp(prefix="textfile-"))
(folder / "backup.prom").write_text(
    "# TYPE backup_last_success_timestamp_seconds gauge\n"
    "backup_last_success_timestamp_seconds 1767225600\n"
)
registry = CollectorRegistry()
registry.register(NodeCollector([TextfileCollector(directory=str(folder))]))


def served():
    """The textfile collector's lines of a scrape (without the files' wall-clock mtimes)."""
    text = generate_latest(registry).decode()
    return [ln for ln in text.splitlines() if ln.startswith(("backup_", "node_textfile_scrape_error"))]


print("\n".join(served()))

# %% tags=["nbval-ignore-output"]
# The log line names the temporary folder, which differs on every run: not compared by nbval.
(folder / "broken.prom").write_text("this is not exposition text\n")
print("\n".join(served()))
shutil.rmtree(folder)  # tidy up: re-running the chapter starts with a fresh folder

# %% [markdown]
# Next: **06-rules**, or **08-pushgateway** for the other way batch jobs report.
