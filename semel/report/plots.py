"""Small inline SVG charts drawn in Python: no JavaScript library, no network, same output every time.

Each function returns one ``<svg>`` element sized by its viewBox (it scales with the page), with axis
ticks, labels, and a ``<title>`` on every bar so hovering shows the exact count.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

from semel.params import candidate_probability

W, H = 460, 260
ML, MR, MT, MB = 58, 16, 18, 46


def _fmt(v: float) -> str:
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:.2f}"


def _nice_max(v: float) -> float:
    if v <= 0:
        return 4.0
    if v < 40:  # small counts: a multiple of 4, so the four grid steps are whole numbers
        return float(4 * math.ceil(v / 4))
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 4, 6, 8, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def _frame(title: str, xlabel: str, ylabel: str, body: list[str], ymax: float, yfmt: str = "int",
           label: str = "") -> str:
    """Axes, horizontal grid and labels around `body`."""
    pw, ph = W - ML - MR, H - MT - MB
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(label or title)}"'
             ' xmlns="http://www.w3.org/2000/svg">', f"<title>{html.escape(title)}</title>"]
    for k in range(5):
        v = ymax * k / 4
        y = MT + ph - ph * k / 4
        text = f"{v:.2f}" if yfmt == "float" else _fmt(round(v, 1) if v < 10 else round(v))
        parts.append(f'<line class="grid" x1="{ML}" x2="{ML + pw}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    parts.extend(body)
    parts.append(f'<line class="axis" x1="{ML}" x2="{ML + pw}" y1="{MT + ph}" y2="{MT + ph}"/>'
                 f'<line class="axis" x1="{ML}" x2="{ML}" y1="{MT}" y2="{MT + ph}"/>')
    parts.append(f'<text class="label" x="{ML + pw / 2:.0f}" y="{H - 8}" text-anchor="middle">'
                 f"{html.escape(xlabel)}</text>")
    parts.append(f'<text class="label" transform="translate(14 {MT + ph / 2:.0f}) rotate(-90)" '
                 f'text-anchor="middle">{html.escape(ylabel)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(labels: Sequence[str], counts: Sequence[int], title: str, xlabel: str, ylabel: str,
              marker: tuple[float, str] | None = None,
              xticks: Sequence[tuple[float, str]] | None = None) -> str:
    """Vertical bars, one per label; `marker` = (position in bar units, text) draws a dashed line;
    `xticks` = (share of the axis, text) replaces the per-bar labels (for numeric axes)."""
    n = max(len(labels), 1)
    pw, ph = W - ML - MR, H - MT - MB
    ymax = _nice_max(max(counts, default=0))  # counts: whole-number grid
    slot = pw / n
    body: list[str] = []
    every = max(1, math.ceil(n / 12))
    for i, (lab, c) in enumerate(zip(labels, counts, strict=True)):
        h = ph * c / ymax
        x = ML + i * slot + slot * 0.12
        body.append(f'<rect class="bar" x="{x:.1f}" y="{MT + ph - h:.1f}" width="{slot * 0.76:.1f}" '
                    f'height="{max(h, 0):.1f}"><title>{html.escape(lab)}: {c:,}</title></rect>')
        if xticks is None and i % every == 0:
            body.append(f'<text class="tick" x="{ML + (i + 0.5) * slot:.1f}" y="{MT + ph + 16}" '
                        f'text-anchor="middle">{html.escape(lab)}</text>')
    for frac, text in xticks or ():
        body.append(f'<text class="tick" x="{ML + pw * frac:.1f}" y="{MT + ph + 16}" '
                    f'text-anchor="middle">{html.escape(text)}</text>')
    if marker is not None:
        pos, text = marker
        x = ML + pos * slot
        body.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{MT}" y2="{MT + ph}"/>'
                    f'<text class="marker-label" x="{x + 4:.1f}" y="{MT + 12}">{html.escape(text)}</text>')
    if not any(counts):
        body.append(f'<text class="empty" x="{ML + pw / 2:.0f}" y="{MT + ph / 2:.0f}" '
                    'text-anchor="middle">nothing to show</text>')
    return _frame(title, xlabel, ylabel, body, ymax)


def size_bins(sizes: np.ndarray) -> tuple[list[str], list[int]]:
    """Cluster sizes to bars: one bar per size up to 10, then doubling ranges (11-20, 21-40, …)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size == 0:
        return [], []
    top = int(sizes.max())
    edges = list(range(2, min(top, 10) + 2))
    hi = 10
    while hi < top:
        hi = hi * 2
        edges.append(hi + 1)
    labels, counts = [], []
    for lo, nxt in zip(edges[:-1], edges[1:], strict=True):
        labels.append(str(lo) if nxt - lo == 1 else f"{lo}–{nxt - 1}")
        counts.append(int(np.count_nonzero((sizes >= lo) & (sizes < nxt))))
    return labels, counts


def similarity_histogram(sims: np.ndarray, threshold: float, bins: int = 20) -> str:
    """Similarities of removed near copies to their kept document, 0..1 in `bins` bars."""
    counts, edges = np.histogram(np.asarray(sims, dtype=np.float64), bins=bins, range=(0.0, 1.0))
    labels = [f"{edges[i]:.2f}–{edges[i + 1]:.2f}" for i in range(bins)]
    return bar_chart(labels, [int(c) for c in counts], "Similarity of removed near copies to the kept one",
                     "Jaccard similarity to the kept document", "documents",
                     marker=(threshold * bins, f"threshold {threshold:g}"),
                     xticks=[(t, f"{t:g}") for t in (0, 0.25, 0.5, 0.75, 1)])


def s_curve(bands: int, rows: int, threshold: float) -> str:
    """P(two documents of Jaccard s become LSH candidates) for bands x rows, with the threshold marked."""
    pw, ph = W - ML - MR, H - MT - MB
    xs = np.linspace(0.0, 1.0, 201)
    ys = np.asarray(candidate_probability(xs, bands, rows), dtype=np.float64)
    pts = " ".join(f"{ML + pw * x:.1f},{MT + ph * (1 - y):.1f}" for x, y in zip(xs, ys, strict=True))
    p_t = float(candidate_probability(threshold, bands, rows))
    tx = ML + pw * threshold
    below = [f"{ML + pw * x:.1f},{MT + ph * (1 - y):.1f}"
             for x, y in zip(xs, ys, strict=True) if x <= threshold]
    body = [
        f'<path class="area" d="M{ML},{MT + ph} L' + " L".join(below) + f' L{tx:.1f},{MT + ph} Z">'
        "<title>false-positive area: pairs below the threshold that still become candidates "
        "(verified exactly, so they cost time, not accuracy)</title></path>",
        f'<path class="curve" d="M{pts.replace(" ", " L")}"/>',
        f'<line class="marker" x1="{tx:.1f}" x2="{tx:.1f}" y1="{MT}" y2="{MT + ph}"/>',
        f'<circle class="dot" cx="{tx:.1f}" cy="{MT + ph * (1 - p_t):.1f}" r="4">'
        f"<title>P(candidate | J = {threshold:g}) = {p_t:.3f}</title></circle>",
        f'<text class="marker-label" x="{tx + 6:.1f}" y="{MT + ph * (1 - p_t) + 16:.1f}">'
        f"threshold {threshold:g}: P = {p_t:.3f}</text>",
    ]
    for t in (0, 0.25, 0.5, 0.75, 1):
        body.append(f'<text class="tick" x="{ML + pw * t:.1f}" y="{MT + ph + 16}" text-anchor="middle">'
                    f"{t:g}</text>")
    return _frame(f"LSH S-curve: {bands} bands × {rows} rows", "Jaccard similarity of a pair",
                  "P(candidate)", body, 1.0, yfmt="float")


def stage_bars(stages: Sequence[dict]) -> str:
    """Horizontal bars of seconds per stage (peak memory in the tooltip)."""
    n = max(len(stages), 1)
    width, row = 460, 26
    height = 10 + row * n
    tmax = max((float(s.get("seconds") or 0) for s in stages), default=0) or 1.0
    parts = [f'<svg class="chart stages" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, s in enumerate(stages):
        sec = float(s.get("seconds") or 0)
        w = (width - 210) * sec / tmax
        y = 5 + i * row
        name = html.escape(str(s.get("name")))
        parts.append(f'<text class="tick" x="80" y="{y + 16}" text-anchor="end">{name}</text>'
                     f'<rect class="bar" x="88" y="{y + 4}" width="{max(w, 1):.1f}" height="16">'
                     f"<title>{html.escape(str(s.get('name')))}: {sec:.2f} s, peak "
                     f"{float(s.get('peak_rss_mb') or 0):,.0f} MB</title></rect>"
                     f'<text class="tick" x="{92 + w:.1f}" y="{y + 16}">{sec:.2f} s · '
                     f"{float(s.get('peak_rss_mb') or 0):,.0f} MB</text>")
    parts.append("</svg>")
    return "".join(parts)


def length_bins(lengths: np.ndarray) -> tuple[list[str], list[int]]:
    """Span lengths (characters) to bars of doubling ranges: 1–15, 16–31, 32–63, … up to the longest."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 0:
        return [], []
    top = int(lengths.max())
    edges = [0, 16]
    while edges[-1] <= top:
        edges.append(edges[-1] * 2)
    labels, counts = [], []
    for lo, nxt in zip(edges[:-1], edges[1:], strict=True):
        labels.append(f"{max(lo, 1):,}–{nxt - 1:,}")
        counts.append(int(np.count_nonzero((lengths >= lo) & (lengths < nxt))))
    return labels, counts


def span_length_chart(lengths: np.ndarray) -> str:
    """Bar chart of removed span lengths in characters (doubling bins)."""
    labels, counts = length_bins(lengths)
    return bar_chart(labels, counts, "Lengths of removed spans", "characters in the span", "spans")
