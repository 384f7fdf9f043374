"""An index that takes additions while it answers lookups (what `semel serve` runs).

Added documents go to the write-ahead log first (semel.index.wal; acknowledged once durable), then to
an in-memory tail of small segments searched after the saved ones. The tail merges like a binary
counter (two neighbours of similar size become one), so an add costs O(log n) amortised and a lookup
searches O(log n) tail segments. A lookup reads the tail list as it was when it started (the writer
swaps in a new list), so reads never wait for adds and never see a half-added document.

On opening, records the log holds beyond the manifest's `wal_through` are folded into a new saved
segment (then the manifest, then the log is emptied: a crash in between replays nothing twice).
"""
from __future__ import annotations

import os
import threading

import numpy as np
import pyarrow as pa

from semel.index.format import SegmentData, WriterLock, next_segment_name, read_manifest, write_manifest
from semel.index.query import Index, Match
from semel.index.wal import WAL_FILE, Wal, replay


class LiveIndex:
    """A saved index plus the documents added since it was opened."""

    def __init__(self, root: str) -> None:
        self.root = root
        read_manifest(root)  # not an index: say so before taking its lock
        self.writer = WriterLock(root, "semel serve")
        try:
            self.index = Index(root)
            self._fold_log()
            self.index.warm()
        except BaseException:
            self.writer.release()
            raise
        self.wal = Wal(os.path.join(root, WAL_FILE), 0)
        self.tail: list[SegmentData] = []
        self.lock = threading.Lock()
        self.seq = self.index.manifest.wal_through
        self.next_row = self.index.manifest.next_row
        self.added = 0

    def _fold_log(self) -> None:
        """Save the log's documents (the index opened them as an in-memory segment) as a segment."""
        data = self.index.logged
        if data is None:
            return
        manifest = self.index.manifest
        manifest.segments.append(data.save(self.root, next_segment_name(manifest)))
        manifest.wal_through = max(seq for seq, _, _ in replay(os.path.join(self.root, WAL_FILE)))
        manifest.next_row += data.documents
        write_manifest(self.root, manifest)
        self.index.close()
        self.index = Index(self.root)

    @property
    def documents(self) -> int:
        return self.index.documents + sum(s.documents for s in self.tail)

    def check(self, text: str) -> Match | None:
        return self.index.check(text, extra=self.tail)

    def check_many(self, texts: list[str]) -> list[Match | None]:
        """Several texts, sketched together."""
        if not texts:
            return []
        tail = self.tail
        sk = self.index.sketch(texts)
        return [self.index.lookup(sk, i, extra=tail) for i in range(len(texts))]

    def add(self, doc_id: str, text: str) -> Match | None:
        """Add a document unless it copies one already in (then return that match); durable on return."""
        sk = self.index.sketch([text])
        with self.lock:
            match = self.index.lookup(sk, 0, extra=self.tail)
            if match is not None:
                return match
            self.wal.append(self.seq + 1, {"id": doc_id, "text": text})
            self.seq += 1
            seg = SegmentData.from_docs(pa.array([doc_id], pa.string()), np.array([-float(self.next_row)]),
                                        sk.exact, sk.mini, sk.seq_offsets, sk.seq, sk.bands)
            self.next_row += 1
            self.added += 1
            tail = [*self.tail, seg]
            while len(tail) > 1 and tail[-2].documents <= tail[-1].documents:
                tail[-2:] = [SegmentData.merge(tail[-2], tail[-1])]
            self.tail = tail
        return None

    def close(self) -> None:
        self.wal.close()
        self.index.close()
        self.writer.release()
