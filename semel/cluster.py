"""Union-find over document indices, connected components, and the keep policy.

Components do not depend on the order edges arrive in, and the document kept for a component is chosen
by a total order (policy value, then id), so results are identical for any number of workers.
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(nogil=True, cache=True)
def find(parent: np.ndarray, x: int) -> int:
    """Root of x, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@nb.njit(nogil=True, cache=True)
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


@nb.njit(nogil=True, cache=True)
def union_pairs(parent: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    for i in range(left.shape[0]):
        union(parent, left[i], right[i])


@nb.njit(nogil=True, cache=True)
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


def choose_kept(labels: np.ndarray, priority: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of the document kept in each document's component.

    The kept document has the highest `priority` in its component; ties go to the smallest id (string
    order), then the smallest index. `priority` is float64 (e.g. -row for "first", length for "longest").
    """
    n = labels.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(n)
    # sort by component, then priority descending, then id ascending: first row of each component wins
    order = np.lexsort((id_rank, -priority, labels))
    sorted_labels = labels[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    winner_of_label = np.empty(n, dtype=np.int64)
    winner_of_label[sorted_labels[first]] = order[first]
    return winner_of_label[labels]
