"""The routing tree: which receivers, with which grouping and timers, an alert goes to.

Mirrors upstream ``dispatch/route.go``. Children inherit receiver, group_by and the three timers
from their parent; matchers, ``continue`` and time intervals are their own. Matching is
depth-first and left to right: the first matching child wins unless it says ``continue: true``,
and a route none of whose children match handles the alert itself. The root matches everything,
so every alert reaches at least one receiver.

``routes_test`` answers what ``amtool config routes test`` answers, so a participant can check a
routing tree in a notebook and the interop tests can compare us with the real amtool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stack.alertmanager import matchers as m
from stack.model import Labels, Matcher

# Route defaults of the root (upstream dispatch.DefaultRouteOpts).
DEFAULT_GROUP_WAIT = 30.0        # seconds
DEFAULT_GROUP_INTERVAL = 300.0   # 5m
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0  # 4h


@dataclass
class Route:
    """One node of the tree with its inherited options already resolved."""

    receiver: str
    group_by: frozenset[str] = frozenset()
    group_by_all: bool = False          # group_by: ['...']
    group_wait: float = DEFAULT_GROUP_WAIT
    group_interval: float = DEFAULT_GROUP_INTERVAL
    repeat_interval: float = DEFAULT_REPEAT_INTERVAL
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    routes: list[Route] = field(default_factory=list)
    parent: Route | None = field(default=None, repr=False)
    # as written, for re-serialising the config (None = inherited)
    explicit: dict = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        """Route key used in group keys: ``{}`` for the root, then ``/{name="v",...}`` per level."""
        own = m.render(self.matchers)
        return own if self.parent is None else f"{self.parent.key}/{own}"

    def match(self, labels: Labels) -> list[Route]:
        """All routes that handle ``labels`` below (and including) this one."""
        if not m.matches(self.matchers, labels):
            return []
        result: list[Route] = []
        for child in self.routes:
            found = child.match(labels)
            result += found
            if found and not child.continue_:
                break
        return result or [self]

    def group_labels(self, labels: Labels) -> Labels:
        if self.group_by_all:
            return labels
        return Labels.from_sorted(tuple(p for p in labels.pairs if p[0] in self.group_by))

    def walk(self):
        yield self
        for child in self.routes:
            yield from child.walk()


def group_key(route: Route, group_labels: Labels) -> str:
    """``<route key>:{a="x", b="y"}`` (upstream aggrGroup.GroupKey)."""
    inner = ", ".join(f'{k}="{_go_escape(v)}"' for k, v in group_labels.pairs)
    return f"{route.key}:{{{inner}}}"


def _go_escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def routes_test(config, labels) -> list[str]:
    """Receiver names an alert with ``labels`` is routed to, in tree order (like amtool's test).

    ``config`` is a loaded config (or its root Route); ``labels`` a dict, Labels or matcher text
    such as ``'alertname=X severity=page'`` is accepted as a dict-like of name/value pairs.
    """
    root = getattr(config, "route", config)
    if isinstance(labels, str):
        pairs = {}
        for part in labels.split():
            mt = m.parse_matcher(part)
            pairs[mt.name] = mt.value
        labels = pairs
    ls = labels if isinstance(labels, Labels) else Labels(labels)
    return [r.receiver for r in root.match(ls)]
