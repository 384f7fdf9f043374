"""The write-ahead log of documents added to a served index: an add is acknowledged only after its
record is on disk (written and fsync'ed), so a kill -9 after the reply loses nothing.

A record is a 16-byte header (sequence number u64, payload length u32, CRC-32 of sequence number and
payload u32, little-endian) and a UTF-8 JSON payload {"id", "text"}. Replaying reads records in order and
stops at the first one that is short or fails its CRC: a torn write from a crash, never acknowledged,
is dropped and cut off, so nothing half-written is ever served.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator

HEADER = struct.Struct("<QII")
WAL_FILE = "wal.log"


def _crc(seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack("<Q", seq)))


def encode(seq: int, doc: dict) -> bytes:
    payload = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return HEADER.pack(seq, len(payload), _crc(seq, payload)) + payload


def replay(path: str) -> Iterator[tuple[int, dict, int]]:
    """(sequence number, document, end offset) of each whole record, in order, up to the first torn one."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return
    pos = 0
    while pos + HEADER.size <= len(data):
        seq, length, crc = HEADER.unpack_from(data, pos)
        start = pos + HEADER.size
        payload = data[start:start + length]
        if len(payload) < length or _crc(seq, payload) != crc:
            return
        try:
            doc = json.loads(payload)
        except ValueError:
            return
        pos = start + length
        yield seq, doc, pos


class Wal:
    """An open log: `append` returns once the record is durable."""

    def __init__(self, path: str, valid_end: int) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.ftruncate(self.fd, valid_end)  # cut a torn tail off before appending after it
        os.lseek(self.fd, valid_end, os.SEEK_SET)
        os.fsync(self.fd)

    def append(self, seq: int, doc: dict) -> None:
        record = encode(seq, doc)
        written = os.write(self.fd, record)
        if written != len(record):  # a full disk: take the partial record back off
            os.ftruncate(self.fd, os.lseek(self.fd, 0, os.SEEK_CUR) - written)
            raise OSError(28, "No space left on device", self.path)
        os.fdatasync(self.fd)

    def reset(self) -> None:
        """Empty the log (its records are in a segment now)."""
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)
