"""Union-find over document indices and connected components.

Components do not depend on the order edges arrive in, so results are identical for any number of
workers. They bound the search for copies; which document is kept for which is semel.grouping's job.
"""
from __future__ import annotations

import numpy as np

from semel.jit import kernel


@kernel
def find(parent: np.ndarray, x: int) -> int:
    """Root of x, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@kernel
def union(parent: np.ndarray, a: int, b: int) -> bool:
    """Join the sets of a and b (the smaller root index becomes the root); False if already joined."""
    ra, rb = find(parent, a), find(parent, b)
    if ra == rb:
        return False
    if ra < rb:
        parent[rb] = ra
    else:
        parent[ra] = rb
    return True


@kernel
def union_pairs(parent: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    for i in range(left.shape[0]):
        union(parent, left[i], right[i])


@kernel
def roots(parent: np.ndarray) -> np.ndarray:
    """The root of every element: the smallest index in its component."""
    out = np.empty_like(parent)
    for i in range(parent.shape[0]):
        out[i] = find(parent, i)
    return out


def new_forest(n: int) -> np.ndarray:
    """n singleton sets."""
    return np.arange(n, dtype=np.int64)


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (smallest member index) of each of n elements joined by edges (left[i], right[i])."""
    parent = new_forest(n)
    union_pairs(parent, np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))
    return roots(parent)
