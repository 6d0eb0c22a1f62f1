"""The values a PromQL query produces (upstream promql/value.go): scalar, string, vector, matrix.

Samples keep timestamps in integer milliseconds. A ``Matrix`` holds numpy arrays per series, so a
range query's result reaches the web API and the pandas client without per-point Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stack.model import Labels


@dataclass
class Scalar:
    t: int
    v: float


@dataclass
class String:
    t: int
    v: str


@dataclass
class Sample:
    """One element of an instant vector."""

    labels: Labels
    t: int
    v: float


@dataclass
class Vector:
    samples: list[Sample] = field(default_factory=list)


@dataclass
class Series:
    """One series of a range-query result or range vector: ``t`` int64 ms, ``v`` float64."""

    labels: Labels
    t: np.ndarray
    v: np.ndarray


@dataclass
class Matrix:
    series: list[Series] = field(default_factory=list)


Value = Scalar | String | Vector | Matrix
