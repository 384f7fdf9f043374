"""Candidate pairs from LSH band keys, verified on exact shingle sets as they are found.

Documents that share a band key land in one bucket. A bucket of m documents would give m(m-1)/2 pairs;
above `max_bucket` members only each document and its next `window` neighbours (in key-then-index order)
are paired, so a huge bucket costs O(m) and, because the pairs are verified and joined transitively,
true duplicates in it still end up in one component.

A pair whose documents are already in the same component is skipped: verifying it could not change the
components, so skipping saves most of the verification work without changing the result.

Verification works on each document's token sequence (32-bit values in text order): the shingles are
recomputed from the tokens into scratch buffers and compared with a scratch hash table, so nothing is
sorted ahead of time: a pair costs O(|a| + |b|), and the same pass tells where in each document the
shared shingles are, which the copy-shape test needs. The tokens themselves feed the template test: two
instances of one template differ by names substituted throughout, which recur; an edited copy differs by
scattered words that do not.
"""
from __future__ import annotations

import numpy as np

from semel.cluster import find, union
from semel.jit import kernel
from semel.text.tokens import mix64

_ROLL = np.uint64(0xFF51AFD7ED558CCD)

# verification rule layout (DedupConfig.rule builds it)
THRESHOLD, CONTAINMENT, MIN_SHINGLES, MAX_GAP, MAX_TRAILING, NGRAM, TEMPLATE_MIN, SHORT = range(8)
USED = np.uint64(1) << np.uint64(32)


class Scratch:
    """Reusable buffers for verifying pairs: two open-addressing tables whose entries carry the pair's
    generation in their top 32 bits (so they are never cleared, and one load tells both "used" and
    "equal"), a per-position flag for the second document, and the two documents' shingles."""

    def __init__(self, longest: int) -> None:
        size = 1 << max(4, int(2 * max(longest, 1) - 1).bit_length())
        self.a_table = np.zeros(size, dtype=np.uint64)
        self.a_flag = np.zeros(size, dtype=np.uint8)
        self.b_table = np.zeros(size, dtype=np.uint64)
        self.shared_b = np.zeros(max(longest, 1), dtype=np.bool_)
        self.shared_a = np.zeros(max(longest, 1), dtype=np.bool_)
        self.c_table = np.zeros(size, dtype=np.uint64)  # the template test's own table and generations
        self.c_count = np.zeros(size, dtype=np.uint8)
        self.t_table = np.zeros(size, dtype=np.uint64)
        self.t_pos = np.zeros(size, dtype=np.int64)
        self.c_counter = np.zeros(1, dtype=np.int64)
        self.counter = np.zeros(1, dtype=np.int64)
        self.sh_a = np.zeros(max(longest, 1), dtype=np.uint32)
        self.sh_b = np.zeros(max(longest, 1), dtype=np.uint32)

    def tables(self) -> tuple[np.ndarray, ...]:
        """The buffers `overlap` takes."""
        return self.a_table, self.a_flag, self.b_table, self.shared_b, self.counter

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The buffers as one tuple: the `scratch` argument of the kernels (`verify` unpacks it)."""
        return (*self.tables(), self.sh_a, self.sh_b, self.shared_a, self.c_table, self.c_count,
                self.t_table, self.t_pos, self.c_counter)


def longest_document(offsets: np.ndarray) -> int:
    """The most tokens any one document has (sizes the scratch buffers)."""
    return int(np.max(np.diff(offsets))) if len(offsets) > 1 else 0


@kernel(inline=True)
def _mask_for(n: int, table: np.ndarray) -> int:
    """A table region of at least 2n slots: small documents stay in the L1 cache."""
    size = 16
    while size < 2 * n:
        size <<= 1
    return min(size, table.shape[0]) - 1


@kernel(inline=True)
def _insert(table: np.ndarray, mask: int, tag: np.uint64, v: np.uint32) -> tuple[int, bool]:
    entry = tag | np.uint64(v)
    i = int(v) & mask
    while (table[i] & np.uint64(0xFFFFFFFF00000000)) == tag:
        if table[i] == entry:
            return i, False
        i = (i + 1) & mask
    table[i] = entry
    return i, True


@kernel(inline=True)
def _find(table: np.ndarray, mask: int, tag: np.uint64, v: np.uint32) -> int:
    entry = tag | np.uint64(v)
    i = int(v) & mask
    while (table[i] & np.uint64(0xFFFFFFFF00000000)) == tag:
        if table[i] == entry:
            return i
        i = (i + 1) & mask
    return -1


@kernel(inline=True)
def slot(table: np.ndarray, key: np.uint64) -> int:
    """Where `key` (never 0, which marks an empty slot) is in an open-addressing table of a power-of-two
    size, or the empty slot where it would go: the one probe of the persistent tables (pair set,
    semel.weights)."""
    mask = table.shape[0] - 1
    j = np.int64(mix64(key) & np.uint64(mask))
    while table[j] != 0 and table[j] != key:
        j = (j + 1) & mask
    return j


@kernel
def _next_tag(a_table: np.ndarray, b_table: np.ndarray, counter: np.ndarray) -> np.uint64:
    counter[0] += 1
    if counter[0] >= 0xFFFFFFFF:  # generations exhausted: clear once and start over
        a_table[:] = 0
        b_table[:] = 0
        counter[0] = 1
    return np.uint64(counter[0]) << np.uint64(32)


@kernel
def overlap(sa: np.ndarray, sb: np.ndarray, a_table: np.ndarray, a_flag: np.ndarray, b_table: np.ndarray,
            shared_b: np.ndarray, counter: np.ndarray, weights: tuple, a: int = -1, b: int = -1
            ) -> tuple[int, int, int, np.uint64, float, float, float]:
    """(distinct values in a, distinct in b, distinct in both, tag, and the same three as sums of
    `weights`: semel.weights.Weights.arrays(), each value weighing 1 when the table is empty) of two
    shingle sequences.

    Documents `a` and `b` (their numbers, or -1) have their total weight remembered in the weights'
    mass array when it has room: a document met in many pairs is weighed once, and afterwards only the
    shingles it shares are looked up (the sums run in the same order, so the figures are identical).
    Leaves table A holding a's values under the returned tag (a_flag 1 = also in b), and
    shared_b[p] = whether b's value at position p occurs in a.
    """
    tag = _next_tag(a_table, b_table, counter)
    mask_a = _mask_for(sa.shape[0], a_table)
    mask_b = _mask_for(sb.shape[0], b_table)
    weighted = weights[0].shape[0] > 1
    masses = weights[3]
    known_a = weighted and 0 <= a < masses.shape[0] and masses[a] >= 0.0
    known_b = weighted and 0 <= b < masses.shape[0] and masses[b] >= 0.0
    na = 0
    wa = 0.0
    for v in sa:
        i, new = _insert(a_table, mask_a, tag, v)
        if new:
            a_flag[i] = 0
            na += 1
            if weighted and not known_a:
                wa += weight_of(weights, v)
    nb_ = 0
    both = 0
    wb = 0.0
    wboth = 0.0
    for p in range(sb.shape[0]):
        v = sb[p]
        _, new = _insert(b_table, mask_b, tag, v)
        i = _find(a_table, mask_a, tag, v)
        shared_b[p] = i >= 0
        if new:
            nb_ += 1
            w = 1.0
            if weighted and (i >= 0 or not known_b):
                w = weight_of(weights, v)
            wb += w
            if i >= 0:
                a_flag[i] = 1
                both += 1
                wboth += w
    if not weighted:
        wa, wb, wboth = float(na), float(nb_), float(both)
    else:
        if known_a:
            wa = masses[a]
        elif 0 <= a < masses.shape[0]:
            masses[a] = wa
        if known_b:
            wb = masses[b]
        elif 0 <= b < masses.shape[0]:
            masses[b] = wb
    return na, nb_, both, tag, wa, wb, wboth


@kernel
def _mark_a(sa: np.ndarray, a_table: np.ndarray, a_flag: np.ndarray, tag: np.uint64, out: np.ndarray) -> None:
    """out[p] = whether a's shingle at position p also occurs in b (table A as `overlap` left it)."""
    mask = _mask_for(sa.shape[0], a_table)
    for p in range(sa.shape[0]):
        out[p] = a_flag[_find(a_table, mask, tag, sa[p])] == 1


@kernel
def _gaps(shared: np.ndarray, n: int, max_gap: int) -> tuple[int, int, int]:
    """(leading run, interior runs longer than max_gap added up, trailing run) of positions whose shingle
    the other document lacks."""
    lead = -1
    run = 0
    interior = 0
    for p in range(n):
        if shared[p]:
            if lead < 0:
                lead = run
            elif run > max_gap:
                interior += run
            run = 0
        else:
            run += 1
    return (run, 0, run) if lead < 0 else (lead, interior, run)


@kernel
def copy_shape_ok(gaps_a: tuple[int, int, int], gaps_b: tuple[int, int, int], len_a: int, len_b: int,
                  max_gap: int, max_trailing: float) -> bool:
    """Is the overlap of a and b shaped like a copy rather than shared passages?

    A copy, however edited, covers one document everywhere but for short runs (edits, a short header or
    footer) and a few dropped or cut-off sentences (two copies of one source each miss what the other
    dropped: long runs inside or at the end, up to a fifth of the document, but none in front). The
    longer one may also have a cut-off tail, but little in front. Two different articles that share a
    paragraph or two instead leave long runs uncovered in front of or behind the shared part on both
    sides, or put new text in front of it.
    """
    la, ia, ta = gaps_a
    lb, ib, tb = gaps_b
    a_like_copy = la <= max_gap and ia + (ta if ta > max_gap else 0) <= max(max_gap, 0.2 * len_a)
    b_like_copy = lb <= max_gap and ib + (tb if tb > max_gap else 0) <= max(max_gap, 0.2 * len_b)
    if not (a_like_copy or b_like_copy):
        return False
    if len_a >= len_b:
        lead, trail, n = la, ta, len_a
    else:
        lead, trail, n = lb, tb, len_b
    return lead <= max(max_gap, 0.1 * n) and trail <= max(max_gap, max_trailing * n)


@kernel(inline=True)
def _shingle32(tokens: np.ndarray, i: int, n: int) -> np.uint32:
    h = np.uint64(n)
    for j in range(n):
        h = h * _ROLL + np.uint64(tokens[i + j])
    return np.uint32(mix64(h) >> np.uint64(32))


@kernel
def shingles_of(tokens: np.ndarray, n: int, out: np.ndarray) -> int:
    """Write the n-gram shingle values of a token sequence into `out`; return how many (a document with
    fewer than n tokens has one shingle of all its tokens, an empty one none)."""
    k = tokens.shape[0]
    if k == 0:
        return 0
    if k < n:
        out[0] = _shingle32(tokens, 0, k)
        return 1
    for i in range(k - n + 1):
        out[i] = _shingle32(tokens, i, n)
    return k - n + 1


@kernel
def _count_tokens(tokens: np.ndarray, table: np.ndarray, count: np.ndarray, tag: np.uint64) -> int:
    """Put tokens in `table` under `tag` with their counts (saturating at 255); return the mask used."""
    mask = _mask_for(tokens.shape[0], table)
    for v in tokens:
        i, new = _insert(table, mask, tag, v)
        if new:
            count[i] = 1
        elif count[i] < 255:
            count[i] += 1
    return mask


@kernel
def _recurring_exclusive(tx: np.ndarray, ty: np.ndarray, x_table: np.ndarray, x_count: np.ndarray,
                         y_table: np.ndarray, counter: np.ndarray) -> int:
    """Occurrences of x's tokens that y lacks and that recur in x. A name substituted throughout a
    template recurs on its side and is absent on the other; scattered edits are words that occur once."""
    tag = _next_tag(x_table, y_table, counter)
    mask_x = _count_tokens(tx, x_table, x_count, tag)
    mask_y = _mask_for(ty.shape[0], y_table)
    for v in ty:
        _insert(y_table, mask_y, tag, v)
    recurring = 0
    for i in range(mask_x + 1):
        if (x_table[i] & np.uint64(0xFFFFFFFF00000000)) != tag or x_count[i] < 2:
            continue
        if _find(y_table, mask_y, tag, np.uint32(x_table[i] & np.uint64(0xFFFFFFFF))) < 0:
            recurring += int(x_count[i])
    return recurring


MAX_CORE = 4  # tokens: a substituted name, command or value; longer differences are added or cut text


@kernel(inline=True)
def _tally(table: np.ndarray, count: np.ndarray, mask: int, tag: np.uint64, v: np.uint32) -> int:
    """Count v under `tag` (saturating at 255); return what this adds to the occurrences of the values
    tallied at least twice (2 when v reaches two, 1 after): summed as the tallies go, that total needs no
    scan of the table (which cost more than the tallies on copies, whose differences are few)."""
    i, new = _insert(table, mask, tag, v)
    if new:
        count[i] = 1
        return 0
    if count[i] < 255:
        count[i] += 1
        return 2 if count[i] == 2 else 1
    return 0


@kernel(inline=True)
def _core_hash(tokens: np.ndarray, start: int, end: int, h: np.uint64) -> np.uint64:
    h = h * _ROLL + np.uint64(end - start)
    for t in range(start, end):
        h = h * _ROLL + np.uint64(tokens[t])
    return h


@kernel(inline=True)
def _next_run(shared: np.ndarray, p: int, m: int) -> tuple[int, int]:
    """The next run [s, e) of positions from p on whose shingle the other side lacks; (m, m) when none."""
    while p < m and shared[p]:
        p += 1
    s = p
    while p < m and not shared[p]:
        p += 1
    return s, p


@kernel
def recurring_differences(tokens: np.ndarray, shared: np.ndarray, m: int, n: int, table: np.ndarray,
                          count: np.ndarray, token_table: np.ndarray, token_count: np.ndarray,
                          counter: np.ndarray) -> tuple[int, int]:
    """(occurrences of this side's differences that recur within it, occurrences of words inside its
    differences that recur there) for a side of m shingles whose flags `shared` say which the other side has.

    A difference is a run of shingles the other side lacks, reduced to its core: the tokens no shared
    shingle covers (one substituted word leaves n unshared shingles and a core of one token; a deletion,
    none). Two instances of one template differ by the same name, command or value again and again; an
    edited copy's differences are scattered different words, and added or dropped passages exceed MAX_CORE
    tokens. A word the other side lacks lies in cores only, so the second figure bounds
    `_recurring_exclusive` and spares it on most pairs."""
    k = tokens.shape[0]
    tag = _next_tag(table, token_table, counter)
    mask = _mask_for(m, table)
    token_mask = _mask_for(k, token_table)
    recurring = 0
    words = 0  # occurrences of the words seen at least twice, summed as they come (see `_tally`)
    p = 0
    while True:
        s, p = _next_run(shared, p, m)
        if s == m:
            break
        start = s + n - 1 if s > 0 else 0
        end = p if p < m else k
        for t in range(start, end):
            i, new = _insert(token_table, token_mask, tag, tokens[t])
            if new:
                token_count[i] = 1
            else:
                token_count[i] += 1
                words += 2 if token_count[i] == 2 else 1
        if 1 <= end - start <= MAX_CORE:
            h = _core_hash(tokens, start, end, np.uint64(0))
            recurring += _tally(table, count, mask, tag, np.uint32(mix64(h) >> np.uint64(32)))
    return recurring, words


@kernel
def recurring_substitutions(ta: np.ndarray, sa: np.ndarray, shared_a: np.ndarray, tb: np.ndarray,
                            sb: np.ndarray, n: int, table: np.ndarray, count: np.ndarray,
                            pos_table: np.ndarray, pos: np.ndarray, counter: np.ndarray) -> int:
    """Occurrences of substitutions from a to b that recur: the same words of a replaced by the same words
    of b again and again, as when a name, command or value is substituted throughout a template.

    Each difference of a (`recurring_differences`) is aligned with b through the shared shingles on
    either side of it (their first position in b); the tokens between them in b are what it replaced.
    An insertion (nothing in b: a release track or an outlet's name added to a copy) is no substitution,
    and a redaction mark replacing many different words never repeats one pair."""
    tag = _next_tag(table, pos_table, counter)
    pmask = _mask_for(sb.shape[0], pos_table)
    for p in range(sb.shape[0]):
        i, new = _insert(pos_table, pmask, tag, sb[p])
        if new:
            pos[i] = p
    m = sa.shape[0]
    mask = _mask_for(m, table)
    recurring = 0
    p = 0
    while True:
        s, p = _next_run(shared_a, p, m)
        if s == m:
            break
        start, end = s + n - 1, p
        if s == 0 or p == m or not 1 <= end - start <= MAX_CORE:
            continue  # at an edge (added or cut text), a deletion, or a passage
        lo = _find(pos_table, pmask, tag, sa[s - 1])
        hi = _find(pos_table, pmask, tag, sa[p])
        if lo < 0 or hi < 0:
            continue
        b_start, b_end = pos[lo] + n, pos[hi]  # b's tokens between the two shared shingles
        if not 1 <= b_end - b_start <= MAX_CORE:
            continue
        h = _core_hash(tb, b_start, b_end, _core_hash(ta, start, end, np.uint64(0)))
        recurring += _tally(table, count, mask, tag, np.uint32(mix64(h) >> np.uint64(32)))
    return recurring


@kernel
def template_like(ta: np.ndarray, tb: np.ndarray, sa: np.ndarray, sb: np.ndarray, shared_a: np.ndarray,
                  shared_b: np.ndarray, n: int, min_count: int, a_table: np.ndarray, a_flag: np.ndarray,
                  b_table: np.ndarray, counter: np.ndarray, c_table: np.ndarray, c_count: np.ndarray,
                  t_table: np.ndarray, t_pos: np.ndarray, c_counter: np.ndarray) -> bool:
    """Do a and b differ the way two instances of one template do, rather than a copy and its source?

    At least `min_count` occurrences of one substitution recurring (`recurring_substitutions`, aligned
    from either side: a shingle that occurs twice can misplace the alignment from one side), or of
    recurring differences on both sides (`recurring_differences`), or on both sides of the words the
    other side lacks (`_recurring_exclusive`). The cheap counts go first: most copies have too few
    recurring differences for the costlier tests to find anything."""
    da, wa = recurring_differences(ta, shared_a, sa.shape[0], n, c_table, c_count, t_table, t_pos, c_counter)
    db, wb = recurring_differences(tb, shared_b, sb.shape[0], n, c_table, c_count, t_table, t_pos, c_counter)
    if da >= min_count and recurring_substitutions(ta, sa, shared_a, tb, sb, n, c_table, c_count, t_table,
                                                   t_pos, c_counter) >= min_count:
        return True
    if db >= min_count and recurring_substitutions(tb, sb, shared_b, ta, sa, n, c_table, c_count, t_table,
                                                   t_pos, c_counter) >= min_count:
        return True
    if da >= min_count and db >= min_count:
        return True
    if wa < min_count or wb < min_count:
        return False
    if _recurring_exclusive(ta, tb, a_table, a_flag, b_table, counter) < min_count:
        return False
    return _recurring_exclusive(tb, ta, a_table, a_flag, b_table, counter) >= min_count


@kernel(inline=True)
def weight_of(weights: tuple, v: np.uint32) -> float:
    """The weight of shingle value v in a semel.weights table (keys, values, bitmap): 1.0 when absent.
    The bitmap (one bit per hash bucket, a few hundred KiB) answers most lookups, the rare shingles,
    without touching the table."""
    wkeys, wvals, wbits = weights[0], weights[1], weights[2]
    mask = wkeys.shape[0] - 1
    if mask == 0:
        return 1.0
    bit = np.int64(v) & (wbits.shape[0] * 64 - 1)  # shingle values are hash bits already
    if (wbits[bit >> 6] >> np.uint64(bit & 63)) & np.uint64(1) == 0:
        return 1.0
    j = slot(wkeys, USED | np.uint64(v))
    return wvals[j] if wkeys[j] != 0 else 1.0


@kernel(inline=True)
def threshold_for(rule: np.ndarray, shortest: int) -> float:
    """The similarity a pair needs: the rule's threshold, rising to 0.5 for short documents (a few dozen
    shingles), where one shared phrase or quotation already makes a high Jaccard."""
    t = rule[THRESHOLD]
    short = rule[SHORT]
    if short <= 0 or t >= 0.5:
        return t
    ramp = min(1.0, max(0.0, (2.0 * short - shortest) / short))
    return t + (0.5 - t) * ramp


# what `verdict` found: a copy, or the first test the pair failed (semel explain names them: VERDICTS)
COPY, EMPTY, BELOW_THRESHOLD, NOT_COPY_SHAPE, TEMPLATE = range(5)
VERDICTS = ("a copy", "no shingles to compare", "similarity below the threshold",
            "overlap not shaped like a copy (shared passages)", "two instances of one template")
VERDICT_NAMES = ("copy", "empty", "threshold", "shape", "template")  # rejected.parquet's `test` column


@kernel
def verdict(offsets: np.ndarray, seq: np.ndarray, a: int, b: int, rule: np.ndarray, weights: tuple,
            scratch: tuple) -> tuple[int, float]:
    """(COPY or the first test failed, similarity) of documents a and b under `rule` (DedupConfig.rule),
    the similarity being the Jaccard of the shingle sets with each shingle weighted by `weights`
    (semel.weights.Weights.arrays(); plain Jaccard when empty). A pair needs similarity >= the threshold
    (`threshold_for`: higher for short documents), or with containment <= 1 the smaller set of at least
    min_shingles contained in the larger at >= containment; with max_gap >= 0, an overlap shaped like a
    copy (`copy_shape_ok`); with template_min > 0, not two instances of one template (`template_like`)."""
    (a_table, a_flag, b_table, shared_b, counter, sh_a, sh_b, shared_a, c_table, c_count, t_table, t_pos,
     c_counter) = scratch
    ta = seq[offsets[a]:offsets[a + 1]]
    tb = seq[offsets[b]:offsets[b + 1]]
    n = int(rule[NGRAM])
    sa = sh_a[:shingles_of(ta, n, sh_a)]
    sb = sh_b[:shingles_of(tb, n, sh_b)]
    if sa.shape[0] == 0 or sb.shape[0] == 0:
        return EMPTY, 0.0
    na, nb_, both, tag, wa, wb, wboth = overlap(sa, sb, a_table, a_flag, b_table, shared_b, counter, weights,
                                                a, b)
    plain = both / (na + nb_ - both)
    union = wa + wb - wboth
    similarity = 1.0 if plain == 1.0 else (wboth / union if union > 0 else 0.0)
    ok = similarity >= threshold_for(rule, min(na, nb_))
    if not ok and rule[CONTAINMENT] <= 1.0:
        small = min(na, nb_)
        ok = small >= rule[MIN_SHINGLES] and both / small >= rule[CONTAINMENT]
    if not ok:
        return BELOW_THRESHOLD, similarity
    if plain < 1.0 and (rule[MAX_GAP] >= 0 or rule[TEMPLATE_MIN] > 0):
        _mark_a(sa, a_table, a_flag, tag, shared_a)
        max_gap = int(rule[MAX_GAP])
        if max_gap >= 0 and not copy_shape_ok(_gaps(shared_a, sa.shape[0], max_gap),
                                              _gaps(shared_b, sb.shape[0], max_gap),
                                              sa.shape[0], sb.shape[0], max_gap, rule[MAX_TRAILING]):
            return NOT_COPY_SHAPE, similarity
        if rule[TEMPLATE_MIN] > 0 and template_like(ta, tb, sa, sb, shared_a, shared_b, n,
                                                    int(rule[TEMPLATE_MIN]), a_table, a_flag, b_table,
                                                    counter, c_table, c_count, t_table, t_pos, c_counter):
            return TEMPLATE, similarity
    return COPY, similarity


@kernel
def verify(offsets: np.ndarray, seq: np.ndarray, a: int, b: int, rule: np.ndarray, weights: tuple,
           scratch: tuple) -> tuple[bool, float]:
    """(is a duplicate pair, similarity): `verdict` is COPY."""
    code, similarity = verdict(offsets, seq, a, b, rule, weights, scratch)
    return code == COPY, similarity


@kernel
def estimate_at_least(mini: np.ndarray, a: int, b: int, min_agree: int) -> bool:
    """Do at least `min_agree` of the two documents' sketch bins agree? A cheap MinHash estimate that
    turns away candidates far below the threshold before exact verification."""
    agree = 0
    width = mini.shape[1]
    for i in range(width):
        agree += mini[a, i] == mini[b, i]
        if agree >= min_agree:
            return True
        if agree + (width - 1 - i) < min_agree:
            return False
    return agree >= min_agree


@kernel
def band_candidates(keys: np.ndarray, docs: np.ndarray, parent: np.ndarray, mini: np.ndarray,
                    min_agree: int, max_bucket: int, window: int, seen: np.ndarray, stats: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate pairs of one band still worth verifying, and the set of pairs verified so far.

    `keys[i]` is the band key of document `docs[i]`, both sorted by (key, doc) (`band_order`). Pairs
    already in one component are dropped (verifying them could not change the components), and so are
    pairs whose 16-bit sketch bins (`mini`) agree on fewer than `min_agree` bins (skipped when <= 0) and
    pairs an earlier band already sent to verification (`seen`, a `PairSet` table; it may be replaced
    by a larger one, returned): templated pages share many bands, and a rejected pair would otherwise
    be verified once per band. stats: [candidates, verified, joined, estimate-rejected, pairs in seen].
    """
    n = keys.shape[0]
    cap = 1024
    left = np.empty(cap, dtype=np.int64)
    right = np.empty(cap, dtype=np.int64)
    count = 0
    i = 0
    while i < n:
        j = i + 1
        k = keys[i]
        while j < n and keys[j] == k:
            j += 1
        m = j - i
        if m > 1:
            reach = m if m <= max_bucket else window + 1
            for p in range(i, j):
                a = docs[p]
                for q in range(p + 1, min(j, p + reach)):
                    b = docs[q]
                    stats[0] += 1
                    if find(parent, a) == find(parent, b):
                        continue
                    if min_agree > 0 and not estimate_at_least(mini, a, b, min_agree):
                        stats[3] += 1
                        continue
                    if 2 * (stats[4] + 1) > seen.shape[0]:
                        seen = _grow_pairs(seen)
                    if not _add_pair(seen, a, b):
                        continue
                    stats[4] += 1
                    if count == cap:
                        cap *= 2
                        left2 = np.empty(cap, dtype=np.int64)
                        right2 = np.empty(cap, dtype=np.int64)
                        left2[:count] = left[:count]
                        right2[:count] = right[:count]
                        left, right = left2, right2
                    left[count] = a
                    right[count] = b
                    count += 1
        i = j
    stats[1] += count
    return left[:count], right[:count], seen


def new_pair_set() -> np.ndarray:
    """An empty set of document pairs for `band_candidates` (grown as needed)."""
    return np.zeros(1 << 16, dtype=np.uint64)


@kernel(inline=True)
def _pair_key(a: int, b: int) -> np.uint64:
    lo, hi = (a, b) if a < b else (b, a)
    return (np.uint64(lo) << np.uint64(32) | np.uint64(hi)) + np.uint64(1)  # 0 marks an empty slot


@kernel
def _add_pair(table: np.ndarray, a: int, b: int) -> bool:
    """Insert the pair (a, b); False when it was there already."""
    key = _pair_key(a, b)
    i = slot(table, key)
    if table[i] == key:
        return False
    table[i] = key
    return True


@kernel
def _grow_pairs(table: np.ndarray) -> np.ndarray:
    out = np.zeros(table.shape[0] * 2, dtype=np.uint64)
    for key in table:
        if key != 0:
            out[slot(out, key)] = key
    return out


@kernel
def verdict_pairs(left: np.ndarray, right: np.ndarray, offsets: np.ndarray, seq: np.ndarray, rule: np.ndarray,
                  weights: tuple, scratch: tuple, codes: np.ndarray, sims: np.ndarray) -> None:
    """codes[i], sims[i] = the `verdict` on (left[i], right[i]) under `rule`."""
    for i in range(left.shape[0]):
        codes[i], sims[i] = verdict(offsets, seq, left[i], right[i], rule, weights, scratch)


@kernel
def verify_pairs(left: np.ndarray, right: np.ndarray, offsets: np.ndarray, seq: np.ndarray, rule: np.ndarray,
                 weights: tuple, scratch: tuple, out: np.ndarray) -> None:
    """out[i] = whether (left[i], right[i]) is a duplicate pair under `rule` (see `verdict`)."""
    codes = np.empty(left.shape[0], dtype=np.int8)
    sims = np.empty(left.shape[0], dtype=np.float64)
    verdict_pairs(left, right, offsets, seq, rule, weights, scratch, codes, sims)
    for i in range(left.shape[0]):
        out[i] = codes[i] == COPY


@kernel
def join_band(keys: np.ndarray, docs: np.ndarray, parent: np.ndarray, offsets: np.ndarray, seq: np.ndarray,
              mini: np.ndarray, min_agree: int, rule: np.ndarray, weights: tuple, max_bucket: int,
              window: int, scratch: tuple, stats: np.ndarray) -> None:
    """One band on one thread: `band_candidates`, `verify_pairs`, then join the duplicates in `parent`.
    (The local engine runs the same three steps with verification spread over its workers.)"""
    seen = np.zeros(1 << 16, dtype=np.uint64)  # a fresh `new_pair_set`
    left, right, _ = band_candidates(keys, docs, parent, mini, min_agree, max_bucket, window, seen, stats)
    ok = np.zeros(left.shape[0], dtype=np.bool_)
    verify_pairs(left, right, offsets, seq, rule, weights, scratch, ok)
    for i in range(left.shape[0]):
        if ok[i] and union(parent, left[i], right[i]):
            stats[2] += 1


def band_order(keys: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One band's keys and documents sorted by (key, document): the buckets `join_band` walks.
    NumPy's sort releases the GIL, so bands are sorted on another core while one is joined.

    `docs` must be ascending. NumPy's default (SIMD) sort is two to three times faster than its stable
    one on 64-bit keys; only the runs of equal keys, a small share, are then put back in document order."""
    n = len(keys)
    if n >= 1 << 31:  # the run-and-position keys below would overflow
        order = np.argsort(keys, kind="stable")
        return np.ascontiguousarray(keys[order]), np.ascontiguousarray(docs[order])
    order = np.argsort(keys)
    sorted_keys = keys[order]
    tie = sorted_keys[1:] == sorted_keys[:-1]
    if tie.any():
        in_run = np.zeros(n, dtype=bool)
        in_run[1:] = tie
        in_run[:-1] |= tie
        at = np.flatnonzero(in_run)
        starts = np.where(np.r_[True, ~tie][at], at, 0)  # each run's first position, carried forward
        run_of = np.maximum.accumulate(starts).astype(np.int64)
        combined = np.sort(run_of * n + order[at])
        order[at] = combined % n
    return np.ascontiguousarray(sorted_keys), np.ascontiguousarray(docs[order])


def min_agreement(threshold: float, width: int, sigmas: float = 4.0) -> int:
    """Fewest agreeing bins (of `width`) that a pair at the threshold shows with near certainty: a pair
    at Jaccard `threshold` falls below it with probability ~ Phi(-sigmas)."""
    mean = threshold * width
    sd = float(np.sqrt(width * threshold * (1.0 - threshold)))
    return max(0, int(np.floor(mean - sigmas * sd)))
