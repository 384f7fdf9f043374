"""Typed settings for each job: defaults, validation, and a fingerprint for resuming safely.

Config flows one way: CLI flags -> a config object -> api call -> engine -> kernels as plain arguments.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from numbers import Integral

import numpy as np

from semel.errors import SemelError
from semel.params import optimal_params


@dataclass
class DedupConfig:
    """Settings of `semel dedup`.

    The defaults were chosen on the planted-copy benchmark (docs/benchmarks.md): word 3-gram shingles
    keep heavily edited copies above Jaccard 0.3 while unrelated news articles stay below 0.05, and a
    verified Jaccard of 0.3 gave precision >= 0.995 with recall >= 0.99. Containment (a truncated copy
    or one with an added header) is available but off by default: on news it merged distinct articles
    that quote each other more often than it found copies that Jaccard missed.

    A pair that passes the Jaccard test must also overlap like a copy (`max_gap`, `max_trailing`; see
    semel.lsh.copy_shape_ok): at 200k documents, different articles that share a paragraph were the
    main source of false merges, and they leave long uncovered runs that an edited copy does not.
    `max_gap=-1` turns that test off.

    On real documentation (man pages, kernel docs, licences) the same two tests passed different
    documents built on one template (device-tree bindings for different hardware, EVP_MD-BLAKE2 and
    EVP_MD-NULL): they differ by names substituted throughout, so on both sides the tokens the other side
    lacks recur (at least `template_min` occurrences; semel.lsh.template_like). `template_min=0`
    turns that test off. Shingles that many documents share (licence paragraphs, section headings,
    boilerplate) weigh less in the similarity (`df_weights`, semel.weights), and short documents (under
    2 x `short` shingles) need a similarity rising to 0.5, since one shared quotation or phrase already
    makes two short texts look alike.

    Removals never chain: semel.grouping removes a document only for a kept document it verifies against.
    """

    inputs: list[str]
    output: str
    id_field: str = "id"
    text_field: str = "text"
    threshold: float = 0.3
    ngram: int | None = None
    shingle: str = "word"
    exact_level: str = "tokens"
    num_perm: int = 256
    bands: int | None = None
    rows: int | None = None
    containment: float | None = None
    min_containment_shingles: int = 20
    max_gap: int = 15
    max_trailing: float = 0.45
    template_min: int = 3
    short: int = 30
    df_weights: bool = True
    keep: str = "first"
    exact: bool = True
    near: bool = True
    repair: bool = False
    workers: int = 0
    batch_size: int = 8192
    on_error: str = "fail"
    work_dir: str | None = None
    resume: bool = False
    keep_work: bool = False
    write_kept: bool = True
    max_bucket: int = 64
    bucket_window: int = 8
    index: bool = False
    against: str | None = None
    update_index: bool = False
    progress: bool | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.inputs:
            raise SemelError("dedup needs at least one input")
        if not 0.0 < self.threshold < 1.0:
            raise SemelError(f"--threshold must be between 0 and 1 (exclusive), got {self.threshold}")
        if self.shingle not in ("word", "char"):
            raise SemelError(f"--shingle must be word or char, got {self.shingle!r}")
        if self.ngram is None:
            self.ngram = 3 if self.shingle == "word" else 5
        if self.ngram < 1:
            raise SemelError(f"--ngram must be >= 1, got {self.ngram}")
        if self.exact_level not in ("tokens", "standard", "whitespace", "none"):
            raise SemelError(f"--exact-level must be tokens, standard, whitespace or none, "
                             f"got {self.exact_level!r}")
        if self.num_perm < 8 or self.num_perm & (self.num_perm - 1):
            raise SemelError(f"--num-perm must be a power of two >= 8, got {self.num_perm}")
        if (self.bands is None) != (self.rows is None):
            raise SemelError("give --bands and --rows together, or neither to derive them from --threshold")
        for flag, value in (("--bands", self.bands), ("--rows", self.rows),
                            ("--batch-size", self.batch_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, Integral)
                                      or value < 1):
                raise SemelError(f"{flag} must be an integer >= 1, got {value!r}")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise SemelError(f"--bands x --rows = {self.bands * self.rows} exceeds "
                             f"--num-perm {self.num_perm}")
        if self.containment is not None and not 0.0 < self.containment <= 1.0:
            raise SemelError(f"--containment must be in (0, 1], got {self.containment}")
        if self.short < 0:
            raise SemelError(f"--short must be >= 0, got {self.short}")
        if self.template_min < 0:
            raise SemelError(f"--template-min must be >= 0, got {self.template_min}")
        if not 0.0 <= self.max_trailing <= 1.0:
            raise SemelError(f"--max-trailing must be in [0, 1], got {self.max_trailing}")
        if self.keep not in ("first", "longest") and not self.keep.startswith("field:"):
            raise SemelError(f"--keep must be first, longest or field:NAME, got {self.keep!r}")
        if self.on_error not in ("fail", "skip"):
            raise SemelError(f"--on-error must be fail or skip, got {self.on_error!r}")
        if self.update_index and not self.against:
            raise SemelError("--update-index needs --against INDEX (the index to add the kept documents to)")
        if self.index and self.against:
            raise SemelError("--index builds a new index; with --against, --update-index adds to that one")
        if self.workers <= 0:
            self.workers = os.cpu_count() or 1

    @property
    def band_rows(self) -> tuple[int, int]:
        """Bands x rows: as given, or chosen for the threshold (false negatives weigh 19x false positives,
        since every candidate is verified exactly but a missed candidate is a missed duplicate)."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        p = lsh_params(self.threshold, self.num_perm)
        return p[0], p[1]

    def rule(self) -> np.ndarray:
        """The verification rule as the kernels take it (layout: semel.lsh.THRESHOLD...; semel.lsh.verify)."""
        containment = 2.0 if self.containment is None else self.containment
        return np.array([self.threshold, containment, self.min_containment_shingles, self.max_gap,
                         self.max_trailing, self.ngram, self.template_min, self.short],
                        dtype=np.float64)

    def min_agree(self, width: int) -> int:
        """Agreeing sketch bins (of `width`) below which a candidate pair is not worth verifying; 0 means
        verify every candidate (with containment on, or without sketch bins)."""
        from semel.lsh import min_agreement  # numba: only when a job runs

        return min_agreement(self.threshold, width) if self.containment is None and width else 0

    @property
    def keep_field(self) -> str | None:
        return self.keep.split(":", 1)[1] if self.keep.startswith("field:") else None

    def fingerprint(self) -> str:
        """A hash of every setting that changes results: a resumed run must match it."""
        keys = ("inputs", "id_field", "text_field", "threshold", "ngram", "shingle", "exact_level",
                "num_perm", "containment", "min_containment_shingles", "max_gap", "max_trailing",
                "template_min", "short", "df_weights", "keep",
                "exact", "near", "repair", "on_error", "max_bucket", "bucket_window")
        data = {k: asdict(self)[k] for k in keys}
        if self.against:
            data["against"] = os.path.abspath(self.against)
        data["band_rows"] = self.band_rows
        data["inputs"] = [os.path.abspath(p) if p != "-" else p for p in self.inputs]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


FP_WEIGHT, FN_WEIGHT = 0.05, 0.95
_PARAMS_CACHE: dict[tuple[float, int], tuple[int, int]] = {}


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Cached optimal bands x rows for a threshold (the search takes a fraction of a second)."""
    key = (round(threshold, 6), num_perm)
    if key not in _PARAMS_CACHE:
        p = optimal_params(threshold, num_perm, fp_weight=FP_WEIGHT, fn_weight=FN_WEIGHT)
        _PARAMS_CACHE[key] = (p.bands, p.rows)
    return _PARAMS_CACHE[key]
