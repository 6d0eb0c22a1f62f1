"""The filesystem collector: size, free space and inodes of every mounted filesystem worth watching.

"Disk will be full in 4 hours" (``predict_linear(node_filesystem_avail_bytes[6h], 4*3600) < 0``) is
the classic host alert, and it is built on these gauges. Pseudo filesystems (proc, sysfs, cgroup,
overlay, ...) and system mount points are left out by default with upstream's own exclusion lists,
so the alert does not fire for a tmpfs that is always "full".
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from stack.node_exporter.collector import Collector, compile_regex

# Upstream defaults of --collector.filesystem.mount-points-exclude / fs-types-exclude (node_exporter 1.5).
DEFAULT_MOUNT_POINTS_EXCLUDE = (
    "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
DEFAULT_FS_TYPES_EXCLUDE = (
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs"
    "|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
)
LABELS = ["device", "fstype", "mountpoint"]
_OCTAL_RE = re.compile(r"\\([0-7]{3})")  # /proc/mounts escapes spaces etc. as \040


class FilesystemCollector(Collector):
    name = "filesystem"

    def __init__(
        self,
        *args,
        mount_points_exclude: str = DEFAULT_MOUNT_POINTS_EXCLUDE,
        fs_types_exclude: str = DEFAULT_FS_TYPES_EXCLUDE,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.mount_points_exclude = compile_regex(
            "collector.filesystem.mount-points-exclude", mount_points_exclude
        )
        self.fs_types_exclude = compile_regex("collector.filesystem.fs-types-exclude", fs_types_exclude)

    def mounts(self) -> list[tuple[str, str, str, list[str]]]:
        """(device, mountpoint, fstype, options) of the mounts to report; pid 1's view first, as upstream."""
        try:
            text = self.read(self.paths.proc("1", "mounts"))
        except OSError:
            text = self.read(self.paths.proc("mounts"))
        out, seen = [], set()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 4:
                continue
            device, mountpoint, fstype = (
                _OCTAL_RE.sub(lambda m: chr(int(m.group(1), 8)), p) for p in parts[:3]
            )
            if self.mount_points_exclude.search(mountpoint) or self.fs_types_exclude.search(fstype):
                continue
            if (device, mountpoint, fstype) in seen:  # the same mount listed twice
                continue
            seen.add((device, mountpoint, fstype))
            out.append((device, mountpoint, fstype, parts[3].split(",")))
        return out

    def update(self) -> Iterable[Metric]:
        def gauge(name: str, help_: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"node_filesystem_{name}", help_, labels=LABELS)

        size = gauge("size_bytes", "Filesystem size in bytes.")
        free = gauge("free_bytes", "Filesystem free space in bytes.")
        avail = gauge("avail_bytes", "Filesystem space available to non-root users in bytes.")
        files = gauge("files", "Filesystem total file nodes.")
        files_free = gauge("files_free", "Filesystem total free file nodes.")
        readonly = gauge("readonly", "Filesystem read-only status.")
        device_error = gauge(
            "device_error", "Whether an error occurred while getting statistics for the given device."
        )
        for device, mountpoint, fstype, options in self.mounts():
            labels = [device, fstype, mountpoint]
            readonly.add_metric(labels, 1.0 if "ro" in options else 0.0)
            try:
                st = os.statvfs(self.paths.root(mountpoint))
            except OSError:
                device_error.add_metric(labels, 1.0)  # the other gauges are left out, not reported as 0
                continue
            device_error.add_metric(labels, 0.0)
            # upstream multiplies by statfs' f_bsize, not f_frsize
            size.add_metric(labels, float(st.f_blocks * st.f_bsize))
            free.add_metric(labels, float(st.f_bfree * st.f_bsize))
            avail.add_metric(labels, float(st.f_bavail * st.f_bsize))
            files.add_metric(labels, float(st.f_files))
            files_free.add_metric(labels, float(st.f_ffree))
        return [size, free, avail, files, files_free, readonly, device_error]
