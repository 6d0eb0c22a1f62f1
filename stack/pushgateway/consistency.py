"""Can the exposition still be served after this push? The consistency checks of spec §5, incrementally.

Upstream answers the question by gathering the whole would-be exposition on every push. We keep
counts of what every stored group contributes (family types, series) so that a push is checked
against the rest of the store in time proportional to the *push*, not to the store: a Pushgateway
holding a thousand groups still accepts a push in about a millisecond. The rules are upstream's:

* one type per metric name — across the push, the other groups, and the Pushgateway's own metrics;
* no two series with the same name and labels anywhere (after grouping labels were applied);
* no family whose samples would collide with a histogram's/summary's ``_sum``/``_count``/``_bucket``;
* valid label names, and no regular ``le``/``quantile`` label on a histogram/summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from stack.exposition import LABEL_NAME_RE, MetricFamily, format_labels

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]
COMPLEX_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def series_keys(fam: MetricFamily) -> tuple[list[SeriesKey], str | None]:
    """The family's series identities, and what is wrong with its labels (None if nothing)."""
    special = {"histogram": "le", "summary": "quantile"}.get(fam.type)
    keys = []
    for m in fam.metrics:
        for k in m.labels:
            if not LABEL_NAME_RE.match(k):
                return keys, f'metric "{fam.name}" has an invalid label name "{k}"'
        if special and special in m.labels:
            return keys, f'{fam.type} "{fam.name}" has a regular label named "{special}"'
        keys.append((fam.name, tuple(sorted(m.labels.items()))))
    return keys, None


class ConsistencyIndex:
    """What all stored groups contribute to the exposition; ``check`` a change before applying it.

    A group is anything with a ``families`` mapping of name -> object with ``.family``.
    ``own_types`` gives the name -> type of the Pushgateway's own metrics.
    """

    def __init__(self, own_types: Callable[[], Mapping[str, str]]):
        self.own_types = own_types
        self.types: dict[str, Counter[str]] = {}  # family name -> type -> number of groups
        self.series: Counter[SeriesKey] = Counter()

    def add(self, group) -> None:
        for name, tf in group.families.items():
            self.types.setdefault(name, Counter())[tf.family.type] += 1
            self.series.update(series_keys(tf.family)[0])

    def remove(self, group) -> None:
        for name, tf in group.families.items():
            counts = self.types[name]
            counts[tf.family.type] -= 1
            if counts[tf.family.type] <= 0:
                del counts[tf.family.type]
            if not counts:
                del self.types[name]
            self.series.subtract(series_keys(tf.family)[0])

    def check(self, old, new) -> str | None:
        """Why replacing group ``old`` (or None) by ``new`` would make the exposition unservable."""
        own = self.own_types()
        old_types = {n: tf.family.type for n, tf in old.families.items()} if old else {}

        def other_types(name: str) -> set[str]:
            counts = Counter(self.types.get(name, {}))
            if name in old_types:
                counts[old_types[name]] -= 1
            return {t for t, n in counts.items() if n > 0}

        def type_after(name: str) -> str | None:
            if name in new.families:
                return new.families[name].family.type
            if name in own:
                return own[name]
            others = other_types(name)
            return next(iter(others)) if others else None

        for name, tf in new.families.items():
            typ = tf.family.type
            if name in own and own[name] != typ:
                return (
                    f'metric "{name}" is pushed as {typ}, but the Pushgateway\'s own metric is a {own[name]}'
                )
            conflicting = other_types(name) - {typ}
            if conflicting:
                return f'metric "{name}" is pushed as {typ}, but another group has it as {conflicting.pop()}'

        for name, tf in new.families.items():
            typ = tf.family.type
            for suffix in COMPLEX_SUFFIXES.get(typ, ()):
                clash = type_after(name + suffix)
                if clash is not None:
                    other = name + suffix
                    return f'{typ} "{name}" and {clash} "{other}" both produce series named "{other}"'
            for base_type, suffixes in COMPLEX_SUFFIXES.items():
                for suffix in suffixes:
                    base = name.removesuffix(suffix)
                    if base != name and type_after(base) == base_type:
                        return f'{typ} "{name}" and {base_type} "{base}" both produce series named "{name}"'

        old_keys = set()
        if old:
            for tf in old.families.values():
                old_keys.update(series_keys(tf.family)[0])
        seen: set[SeriesKey] = set()
        for tf in new.families.values():
            keys, problem = series_keys(tf.family)
            if problem:
                return problem
            for key in keys:
                elsewhere = self.series[key] - (1 if key in old_keys else 0) > 0
                if key in seen or elsewhere:
                    return (
                        f"duplicate series {key[0]}{format_labels(dict(key[1]))}: "
                        "it was already pushed to this or another group"
                    )
                seen.add(key)
        return None
