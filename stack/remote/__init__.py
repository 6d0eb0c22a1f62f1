"""Remote write: forward every committed sample to other systems (remote-write 1.0, protobuf + snappy).

``WriteStorage`` runs one :class:`QueueManager` per ``remote_write`` entry of prometheus.yml; the
wire format lives in :mod:`stack.remote.proto` and is shared with the receiver in ``stack.web``.
"""

from stack.remote.queue import QueueConfig, QueueManager
from stack.remote.storage import WriteStorage

__all__ = ["QueueConfig", "QueueManager", "WriteStorage"]
