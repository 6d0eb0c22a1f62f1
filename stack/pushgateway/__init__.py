"""The in-package Pushgateway: batch jobs push metrics here, Prometheus scrapes them with honor_labels.

Public surface::

    from stack.pushgateway import Pushgateway
    pg = Pushgateway(port=0, clock=clock)       # await pg.start() to serve HTTP
    pg.push({"job": "backup"}, "backup_duration_seconds 42.7\\n")   # in-process, same rules as HTTP
"""

from stack.pushgateway.grouping import GroupingKeyError, grouping_path, parse_grouping_path
from stack.pushgateway.server import Pushgateway, decode_body
from stack.pushgateway.store import Group, MetricStore, PushError

__all__ = [
    "Group",
    "GroupingKeyError",
    "MetricStore",
    "PushError",
    "Pushgateway",
    "decode_body",
    "grouping_path",
    "parse_grouping_path",
]
