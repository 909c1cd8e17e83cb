"""Time-ordered ids for rows written in bulk (UUIDv7, RFC 9562).

Random UUIDs (v4) scatter every insert over the primary-key indexes: once an index outgrows
the cache, each row costs a page read and write somewhere in it. The ids of one bulk write
here are consecutive and grow with the order the rows are inserted in, so the indexes are
appended to. They are still unguessable enough for ids (42 random bits per batch) and unique:
two batches share a prefix only in the same millisecond with the same random bits, and the
primary key would refuse a clash.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class OrderedIds:
    """The ids of one batch: row ``seq`` (0, 1, 2, ...) gets ``prefix || hex(base + seq)``.

    UUIDv7 layout: 48 bits of Unix time in milliseconds, the version, 12 random bits, the
    variant, 30 more random bits and a 32-bit counter (the row's position in the batch, the
    "fixed-length dedicated counter" of RFC 9562 section 6.2).
    """

    prefix: str  # 16 hex digits: time, version 7, 12 random bits
    base: int  # variant, 30 random bits, counter 0; as a signed bigint for PostgreSQL

    @classmethod
    def new(cls) -> OrderedIds:
        millis = time.time_ns() // 1_000_000 & (1 << 48) - 1
        prefix = f"{millis:012x}7{secrets.randbits(12):03x}"
        base = ((0b10 << 62) | (secrets.randbits(30) << 32)) - (1 << 64)
        return cls(prefix, base)

    def __call__(self, seq: int) -> uuid.UUID:
        """The id of row ``seq`` (the same value :meth:`sql` computes in PostgreSQL)."""
        return uuid.UUID(int=(int(self.prefix, 16) << 64) | ((self.base + seq) & _U64))

    def params(self, name: str) -> dict[str, object]:
        """Query parameters for :meth:`sql` with the same ``name``."""
        return {f"{name}_prefix": self.prefix, f"{name}_base": self.base}

    @staticmethod
    def sql(name: str, seq: str) -> str:
        """SQL computing the id of row ``seq`` (a column or expression) from :meth:`params`."""
        return f"(%({name}_prefix)s || to_hex(%({name}_base)s::bigint + {seq}))::uuid"
