"""Connected components and the keep policy against brute-force references."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.cluster import components
from semel.grouping import priority_order


def brute_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    adj: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        stack, comp = [start], []
        label[start] = start
        while stack:
            x = stack.pop()
            comp.append(x)
            for y in adj[x]:
                if label[y] < 0:
                    label[y] = start
                    stack.append(y)
        for x in comp:
            label[x] = min(comp)
    return label


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                            max_size=80))))
def test_components_match_brute_force(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = case
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    assert components(n, left, right).tolist() == brute_components(n, edges)
    # edge order does not matter
    perm = np.random.default_rng(n).permutation(len(edges))
    assert components(n, right[perm], left[perm]).tolist() == brute_components(n, edges)


def test_priority_order_by_priority_then_id() -> None:
    ids = np.array(["c", "a", "b", "x", "w", "z"])
    assert priority_order(-np.arange(6, dtype=float), ids).tolist() == [0, 1, 2, 3, 4, 5]
    assert priority_order(np.zeros(6), ids).tolist() == [1, 2, 0, 4, 3, 5]  # all tied: smallest id first
    longest = priority_order(np.array([1.0, 5.0, 5.0, 2.0, 1.0, 0.0]), ids)
    assert longest.tolist() == [1, 2, 3, 0, 4, 5]
