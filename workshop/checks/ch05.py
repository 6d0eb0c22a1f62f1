"""Chapter 5, host monitoring: USE queries on the node exporter's metrics, and predicting disk-full."""

from __future__ import annotations

from workshop.checks._common import query_exercise

CPU_UTILISATION = '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))'
MEMORY_UTILISATION = "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"
DISK_IN_4H = 'predict_linear(node_filesystem_avail_bytes{mountpoint="/"}[10m], 4 * 3600)'

q1 = query_exercise(
    "q1", CPU_UTILISATION,
    'The share of time *not* idle: 1 - the rate of mode="idle" CPU seconds, averaged over CPUs by instance.',
)  # fmt: skip
q2 = query_exercise(
    "q2", MEMORY_UTILISATION,
    "1 - available memory / total memory (MemAvailable, not MemFree: caches can be given back).",
)  # fmt: skip
q3 = query_exercise(
    "q3", DISK_IN_4H,
    'predict_linear(<gauge>[10m], <seconds ahead>) on node_filesystem_avail_bytes of mountpoint="/".',
)  # fmt: skip
