"""Binary operators: arithmetic, comparison and set operations, with vector matching.

Matching follows upstream ``VectorBinop``: each side's rows get a signature (the labels named in
``on(...)``, or all but ``ignoring(...)`` and the metric name); rows are paired once by signature
and the operator then runs on whole ``[pairs, steps]`` arrays. Cardinality rules are checked per
step, as upstream does, but vectorised: a duplicate on the "one" side is an error only at steps
where both duplicates are present.
"""

from __future__ import annotations

import numpy as np

from stack.model import METRIC_NAME, Labels
from stack.promql import ast
from stack.promql.query_errors import ExecutionError
from stack.promql.stepmatrix import StepScalar, StepVector, merge_same_labels, quiet_fp

ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,  # Go math.Mod: the result takes the sign of the dividend
    "^": np.power,
    "atan2": np.arctan2,
}
COMPARISON = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
SET_OPERATORS = ("and", "or", "unless")


def _apply(op: str, a, b):
    with quiet_fp():
        if op in ARITHMETIC:
            return ARITHMETIC[op](a, b)
        return COMPARISON[op](a, b)


def eval_binary(ev, node: ast.BinaryExpr, ts: np.ndarray):
    lhs = ev.eval(node.lhs, ts)
    rhs = ev.eval(node.rhs, ts)
    op = node.op
    if op not in ARITHMETIC and op not in COMPARISON and op not in SET_OPERATORS:
        raise ExecutionError(f"operator {op!r} is not supported for float samples")
    if isinstance(lhs, StepScalar) and isinstance(rhs, StepScalar):
        res = _apply(op, lhs.vals, rhs.vals)
        if op in COMPARISON:
            res = res.astype(np.float64)  # scalar comparisons always need "bool"
        return StepScalar(np.asarray(res, np.float64))
    if isinstance(lhs, StepScalar) or isinstance(rhs, StepScalar):
        return _vector_scalar(op, lhs, rhs, node.return_bool)
    matching = node.matching or ast.VectorMatching(
        card="many-to-many" if op in SET_OPERATORS else "one-to-one")
    if op in SET_OPERATORS:
        return _set_op(op, lhs, rhs, matching)
    return _vector_vector(op, lhs, rhs, matching, node.return_bool)


def _vector_scalar(op: str, lhs, rhs, return_bool: bool) -> StepVector:
    swap = isinstance(lhs, StepScalar)
    vec, sc = (rhs, lhs) if swap else (lhs, rhs)
    s = sc.vals[None, :]
    res = _apply(op, s, vec.vals) if swap else _apply(op, vec.vals, s)
    if op in COMPARISON:
        if return_bool:
            return StepVector(vec.labels, res.astype(np.float64), vec.mask, np.ones(len(vec), bool))
        # a filter: the vector's value survives, whichever side it was on
        return StepVector(vec.labels, vec.vals, vec.mask & res, vec.drop).nonempty()
    return StepVector(vec.labels, res, vec.mask, np.ones(len(vec), bool))


def signature_func(matching: ast.VectorMatching):
    names = tuple(matching.matching_labels)
    if matching.on:
        return lambda ls: ls.only(*names)
    return lambda ls: ls.without(*names, METRIC_NAME)


def _groups(sigs: list[Labels]) -> dict[Labels, list[int]]:
    out: dict[Labels, list[int]] = {}
    for i, s in enumerate(sigs):
        out.setdefault(s, []).append(i)
    return out


def _present_by_sig(vec: StepVector, groups: dict[Labels, list[int]]) -> dict[Labels, np.ndarray]:
    return {sig: vec.mask[rows].any(axis=0) for sig, rows in groups.items()}


def _stack(rows: list[np.ndarray], steps: int) -> np.ndarray:
    return np.array(rows, bool).reshape(len(rows), steps)


def _set_op(op: str, lhs: StepVector, rhs: StepVector, matching) -> StepVector:
    sigf = signature_func(matching)
    lsig = [sigf(ls) for ls in lhs.labels]
    rsig = [sigf(ls) for ls in rhs.labels]
    steps = lhs.vals.shape[1]
    none = np.zeros(steps, bool)
    if op in ("and", "unless"):
        rpresent = _present_by_sig(rhs, _groups(rsig))
        other = _stack([rpresent.get(s, none) for s in lsig], steps)
        mask = lhs.mask & (other if op == "and" else ~other)
        return StepVector(lhs.labels, lhs.vals, mask, lhs.drop).nonempty()
    # or: everything on the left, plus right-hand rows at steps where no left row shares the signature
    lpresent = _present_by_sig(lhs, _groups(lsig))
    other = _stack([lpresent.get(s, none) for s in rsig], steps)
    rmask = rhs.mask & ~other
    return merge_same_labels(StepVector(
        lhs.labels + rhs.labels,
        np.concatenate([lhs.vals, rhs.vals]),
        np.concatenate([lhs.mask, rmask]),
        np.concatenate([lhs.drop, rhs.drop]),
    ).nonempty())


def _vector_vector(op: str, lhs: StepVector, rhs: StepVector, matching, return_bool: bool) -> StepVector:
    card = matching.card
    swap = card == "one-to-many"  # group_right: the right side is the "many" side
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    sigf = signature_func(matching)
    one_groups = _groups([sigf(ls) for ls in one.labels])
    many_sig = [sigf(ls) for ls in many.labels]

    # The "one" side must be unique per signature at every step.
    for sig, rows in one_groups.items():
        if len(rows) > 1:
            dup = one.mask[rows].sum(axis=0) > 1
            if dup.any():
                step = int(np.argmax(dup))
                a, b = [one.labels[r] for r in rows if one.mask[r, step]][:2]
                side = "left" if swap else "right"
                raise ExecutionError(
                    f"found duplicate series for the match group {_match_str(sig)} on the {side} "
                    f"hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: "
                    "matching labels must be unique on one side")

    mi, oi = [], []
    for i, sig in enumerate(many_sig):
        for j in one_groups.get(sig, ()):
            mi.append(i)
            oi.append(j)
    steps = lhs.vals.shape[1]
    if not mi:
        return StepVector.empty(steps)
    mi_a, oi_a = np.array(mi), np.array(oi)
    mask = many.mask[mi_a] & one.mask[oi_a]
    lv, rv = (one.vals[oi_a], many.vals[mi_a]) if swap else (many.vals[mi_a], one.vals[oi_a])
    if card == "one-to-one":
        # Two left rows matching the same right row at one step: the user must say group_left/right.
        by_sig: dict[Labels, list[int]] = {}
        for p, i in enumerate(mi):
            by_sig.setdefault(many_sig[i], []).append(p)
        for pairs in by_sig.values():
            if len(pairs) > 1 and (mask[pairs].sum(axis=0) > 1).any():
                raise ExecutionError("multiple matches for labels: many-to-one matching must be explicit "
                                     "(group_left/group_right)")
    labels = [_result_labels(many.labels[i], one.labels[j], matching) for i, j in zip(mi, oi, strict=True)]
    index: dict[Labels, list[int]] = {}
    for p, ls in enumerate(labels):
        index.setdefault(ls, []).append(p)
    if len(index) != len(labels):
        # Upstream checks this before comparison filtering, so a filter can't hide the ambiguity.
        for rows in index.values():
            if len(rows) > 1 and (mask[rows].sum(axis=0) > 1).any():
                if card == "one-to-one":
                    raise ExecutionError("multiple matches for labels: many-to-one matching must be explicit "
                                         "(group_left/group_right)")
                raise ExecutionError("multiple matches for labels: "
                                     "grouping labels must ensure unique results")

    res = _apply(op, lv, rv)
    if op in COMPARISON and not return_bool:
        mask &= res
        vals, drop = lv, many.drop[mi_a]  # a filter keeps the left-hand value and the name
    else:
        vals, drop = res.astype(np.float64), np.ones(len(mi), bool)
    out = StepVector(labels, vals, mask, drop).nonempty()
    if len(index) != len(labels):
        out = merge_same_labels(out)
    return out


def _result_labels(many: Labels, one: Labels, matching: ast.VectorMatching) -> Labels:
    """Upstream resultMetric: the "many" side's labels, narrowed for one-to-one, plus group_x labels."""
    ls = many
    if matching.card == "one-to-one":
        if matching.on:
            ls = ls.only(*matching.matching_labels)
        else:
            ls = ls.without(*matching.matching_labels)
    if matching.include:
        d = dict(ls.pairs)
        for name in matching.include:
            v = one.get(name)
            if v:
                d[name] = v
            else:
                d.pop(name, None)
        ls = Labels(d)
    return ls


def _match_str(sig: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sig.pairs) + "}"
