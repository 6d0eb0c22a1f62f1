"""``info(v, [selector])``: enrich series with the data labels of info metrics (experimental upstream).

Info metrics such as ``target_info`` or ``build_info`` carry metadata as labels with a constant
value of 1. ``info()`` joins them onto ``v`` through the *identifying* labels ``instance`` and
``job`` at every step, which replaces the classic ``* on(instance, job) group_left(...)``
idiom without its pitfalls (an info series changing labels over time simply switches the
output series, and several info metrics can contribute at once).

Rules (upstream ``promql/info.go`` behaviour, as exercised by ``info.test``):

* the selector's ``__name__`` matchers pick the info metrics (default ``target_info``); its other
  matchers filter info series *and* name the data labels to add (no matchers: add all of them);
* a series of ``v`` that is itself one of the selected info metrics passes through unchanged;
* per step and info metric, the series with the latest sample wins; labels already on the base
  series are never overwritten; two info metrics offering different values for one label is an
  error;
* without any matching info series a sample is kept as is, unless a data matcher rejects the
  empty value (then the sample is dropped).
"""

from __future__ import annotations

import numpy as np

from stack.model import METRIC_NAME, Labels, Matcher, matches_all
from stack.promql import ast
from stack.promql.query_errors import ExecutionError
from stack.promql.stepmatrix import StepVector, merge_same_labels

IDENTIFYING_LABELS = ("instance", "job")  # upstream info(): labels joining a series to its info metrics
DEFAULT_INFO_METRIC = "target_info"
INFO_METRIC_PATTERN = ".+_info"  # what counts as an info metric when only negative name matchers are given


def f_info(ev, call: ast.Call, ts: np.ndarray) -> StepVector:
    base = ev.eval(call.args[0], ts)
    matchers: list[Matcher] = list(call.args[1].matchers) if len(call.args) > 1 else []  # type: ignore
    name_m = [m for m in matchers if m.name == METRIC_NAME]
    name_m = name_m or [Matcher("=", METRIC_NAME, DEFAULT_INFO_METRIC)]
    data_m = [m for m in matchers if m.name != METRIC_NAME]
    # A base series that is itself one of the selected info metrics passes through unchanged; only
    # positive name matchers can select it as such (upstream issue 17931).
    positive = any(m.type in ("=", "=~") for m in name_m)
    if not positive:  # only negative name matchers: they narrow down the *_info metrics
        name_m.append(Matcher("=~", METRIC_NAME, INFO_METRIC_PATTERN))
    info = ev.eval(_info_selector(call.args[0], name_m + data_m), ts)
    if len(base) == 0:
        return base
    steps = len(ts)
    by_key: dict[tuple, dict[str, list[int]]] = {}
    for j, ls in enumerate(info.labels):
        key = tuple(ls.get(n) for n in IDENTIFYING_LABELS)
        by_key.setdefault(key, {}).setdefault(ls.name, []).append(j)
    info_t = np.where(info.mask, info.sample_t if info.sample_t is not None else 0, np.iinfo(np.int64).min)
    strict = [m for m in data_m if not m.matches_empty()]
    wanted = {m.name for m in data_m}

    labels, vals, masks = [], [], []
    for i, ls in enumerate(base.labels):
        candidates = _candidates(ls, by_key)
        is_info = positive and matches_all(ls, name_m)
        if is_info or not any(ls.get(n) for n in IDENTIFYING_LABELS) or not candidates:
            keep = base.mask[i] if not strict or is_info else np.zeros(steps, bool)
            labels.append(ls)
            vals.append(base.vals[i])
            masks.append(keep)
            continue
        # per info metric name, the series with the newest sample at each step (-1: none)
        choices = []
        for rows in candidates.values():
            r = np.array(rows)
            best = np.argmax(info_t[r], axis=0)
            present = info.mask[r].any(axis=0)
            choices.append(np.where(present, r[best], -1))
        combos = np.stack(choices, axis=1)  # [steps, metrics]
        for combo in np.unique(combos, axis=0):
            at = (combos == combo).all(axis=1) & base.mask[i]
            if not at.any():
                continue
            chosen = [int(j) for j in combo if j >= 0]
            if not chosen and strict:
                continue
            labels.append(_enrich(ls, [info.labels[j] for j in chosen], wanted))
            vals.append(base.vals[i])
            masks.append(at)
    out = StepVector(labels, np.array(vals).reshape(len(labels), steps),
                     np.array(masks, bool).reshape(len(labels), steps), np.zeros(len(labels), bool))
    return merge_same_labels(out.nonempty())


def _info_selector(base_expr: ast.Expr, matchers: list[Matcher]) -> ast.VectorSelector:
    """Info series are looked up at the base selector's own time (its ``@`` and ``offset``)."""
    inner = base_expr
    while isinstance(inner, ast.ParenExpr | ast.StepInvariantExpr):
        inner = inner.expr
    if isinstance(inner, ast.VectorSelector):
        return ast.VectorSelector("", matchers, inner.offset, inner.timestamp, inner.start_or_end)
    return ast.VectorSelector("", matchers)


def _candidates(ls: Labels, by_key: dict[tuple, dict[str, list[int]]]) -> dict[str, list[int]]:
    """Info series (by metric name) whose identifying labels agree with those the series has."""
    mine = tuple(ls.get(n) for n in IDENTIFYING_LABELS)
    out: dict[str, list[int]] = {}
    for key, metrics in by_key.items():
        if all(not a or a == b for a, b in zip(mine, key, strict=True)):
            for name, rows in metrics.items():
                out.setdefault(name, []).extend(rows)
    return out


def _enrich(ls: Labels, infos: list[Labels], wanted: set[str]) -> Labels:
    add: dict[str, str] = {}
    for info in infos:
        for k, v in info.pairs:
            if k == METRIC_NAME or k in IDENTIFYING_LABELS or ls.has(k) or (wanted and k not in wanted):
                continue
            if add.get(k, v) != v:
                raise ExecutionError(f"conflicting label {k!r}: info metrics disagree ({add[k]!r} vs {v!r})")
            add[k] = v
    return ls.merge(add) if add else ls
