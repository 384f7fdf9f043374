"""Spans repeated across documents: boilerplate lines (`lines`) and repeated passages (`suffix`).

Near-duplicate detection removes whole documents; these kernels remove *parts* of otherwise different
documents. Both work on the UTF-8 buffers of Arrow string arrays with numba, so counting or indexing a
collection never builds one Python object per line or per token.

- `semel.spans.lines`: a 64-bit hash per normalised line or paragraph (CCNet-style), counted once per
  document with sorted NumPy arrays that spill to disk by hash partition, and a kernel that cuts the
  frequent ones out of each document.
- `semel.spans.suffix`: a token-level suffix array (libdivsufsort via pydivsufsort) with LCP and
  longest-previous-factor arrays, giving every span of at least k tokens that occurs earlier (or
  anywhere else) in the collection, snapped to word boundaries before cutting.
"""
from __future__ import annotations

from semel.spans.lines import HashCounter, line_units, remove_units
from semel.spans.suffix import cut, find_repeats, token_spans

__all__ = ["HashCounter", "cut", "find_repeats", "line_units", "remove_units", "token_spans"]
