"""The LSH S-curve and the choice of bands x rows for a threshold. Pure NumPy: cheap to import."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def candidate_probability(s: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """The LSH S-curve: probability that two documents of Jaccard `s` share at least one band."""
    return 1.0 - (1.0 - np.power(s, rows)) ** bands


def _trapezoid_rows(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Trapezoid-rule integral of each row of ys over xs."""
    return np.sum((ys[:, 1:] + ys[:, :-1]) * np.diff(xs), axis=1) / 2.0


@dataclass(frozen=True)
class LshParams:
    """Bands x rows and what they cost: the areas under the S-curve on the wrong side of the threshold."""

    bands: int
    rows: int
    false_positive_area: float
    false_negative_area: float


def optimal_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5,
                   ) -> LshParams:
    """Bands x rows (bands * rows <= num_perm) minimising the weighted areas where the S-curve is wrong.

    False-positive area: integral of P(candidate) over Jaccard [0, threshold]; false-negative area:
    integral of 1 - P(candidate) over [threshold, 1] (as in datasketch). Candidates are verified on exact
    sets afterwards, so a false positive costs time only while a false negative loses a duplicate for
    good: semel's default weighs false negatives more.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    low, high = np.linspace(0.0, threshold, 201), np.linspace(threshold, 1.0, 201)
    # every (bands, rows) with bands * rows <= num_perm, evaluated at once
    pairs = np.array([(b, r) for r in range(1, num_perm + 1) for b in range(1, num_perm // r + 1)],
                     dtype=np.float64)
    bands, rows = pairs[:, :1], pairs[:, 1:]
    fp = _trapezoid_rows(1.0 - (1.0 - low ** rows) ** bands, low)
    fn = _trapezoid_rows((1.0 - high ** rows) ** bands, high)
    cost = fp_weight * fp + fn_weight * fn
    i = int(np.argmin(cost))  # first minimum: fewest rows, then fewest bands
    best = LshParams(int(pairs[i, 0]), int(pairs[i, 1]), float(fp[i]), float(fn[i]))
    return best
