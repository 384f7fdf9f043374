"""MinHash signatures, band keys and LSH parameters."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semel.minhash import band_keys, estimate_jaccard, signatures
from semel.params import candidate_probability, optimal_params
from semel.text.tokens import mix64


def sets_to_arrays(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    values = np.concatenate(sets) if sets else np.zeros(0, np.uint64)
    return offsets, values.astype(np.uint64)


def hashed(ids: np.ndarray) -> np.ndarray:
    return np.array([mix64(np.uint64(i)) for i in ids], dtype=np.uint64)


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 400), st.integers(0, 400), st.integers(0, 400), st.integers(0, 10_000))
def test_estimates_converge_to_true_jaccard(shared: int, only_a: int, only_b: int, seed: int) -> None:
    base = np.arange(seed * 2000, seed * 2000 + shared + only_a + only_b, dtype=np.uint64)
    a = hashed(base[: shared + only_a])
    b = hashed(np.r_[base[:shared], base[shared + only_a:]])
    true_j = shared / (shared + only_a + only_b)
    offsets, values = sets_to_arrays([a, b])
    sig = signatures(offsets, values, 1024)
    est = float(estimate_jaccard(sig[0], sig[1]))
    # one-permutation hashing with densification: standard error ~ sqrt(J(1-J)/k) for k=1024 bins
    assert abs(est - true_j) < 5 * np.sqrt(true_j * (1 - true_j) / 1024) + 0.02


def test_identical_sets_identical_signatures_and_order_does_not_matter() -> None:
    a = hashed(np.arange(50))
    offsets, values = sets_to_arrays([a, a[::-1].copy(), np.r_[a, a]])
    sig = signatures(offsets, values, 256)
    assert np.array_equal(sig[0], sig[1]) and np.array_equal(sig[0], sig[2])


def test_short_documents_get_full_signatures() -> None:
    offsets, values = sets_to_arrays([hashed(np.arange(1)), hashed(np.arange(3)), np.zeros(0, np.uint64)])
    sig = signatures(offsets, values, 256)
    assert (sig[0] != 0xFFFFFFFF).all() and (sig[1] != 0xFFFFFFFF).all()
    assert (sig[2] == 0xFFFFFFFF).all()  # no shingles: stays empty


def test_num_perm_must_be_power_of_two() -> None:
    with pytest.raises(ValueError):
        signatures(np.array([0, 1]), np.array([1], np.uint64), 100)


def test_band_keys_stable_and_band_sensitive() -> None:
    sig = np.arange(12, dtype=np.uint32).reshape(1, 12)
    keys = band_keys(sig, 4, 3)
    assert [int(k) for k in keys[0]] == band_keys(sig.copy(), 4, 3)[0].tolist()
    assert len(set(keys[0].tolist())) == 4
    assert int(keys[0, 0]) == STABLE_BAND0
    other = sig.copy()
    other[0, 4] += 1  # changes band 1 only
    k2 = band_keys(other, 4, 3)[0]
    assert k2[0] == keys[0, 0] and k2[1] != keys[0, 1] and k2[2] == keys[0, 2]


STABLE_BAND0 = 7153102061725206237


def test_params_respect_budget_and_threshold() -> None:
    for t in (0.2, 0.3, 0.5, 0.7, 0.9):
        p = optimal_params(t, 256, 0.05, 0.95)
        assert p.bands * p.rows <= 256
        assert candidate_probability(min(1.0, t + 0.15), p.bands, p.rows) > 0.9
        curve = candidate_probability(np.linspace(0, 1, 21), p.bands, p.rows)
        assert np.all(np.diff(curve) >= 0)
    # a higher threshold never gets fewer rows
    rows = [optimal_params(t, 256).rows for t in (0.2, 0.4, 0.6, 0.8)]
    assert rows == sorted(rows)
