"""Replay Apache Kafka partition logs straight from disk, as Arrow.

kreplay reads a broker's own files (a data dir, a backup, a dead broker's
disk) with Kafka's consumer semantics; no broker is involved. Records come
as Arrow record batches with the schema of ``kreplay export`` (see
:data:`SCHEMA`), handed over through the Arrow C stream interface without
copying. With ``layout="view"`` no payload byte is copied either: keys and
values are ``binary_view`` columns that point into the segment files'
read-only maps (or into the inflated records of compressed batches).

>>> import kreplay
>>> reader = kreplay.read("fixtures/demo", ["metrics"])
>>> table = reader.read_all()
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Union

import pyarrow as pa

from . import _kreplay
from ._consumer import Consumer
from ._kreplay import KreplayError

__all__ = ["Consumer", "KreplayError", "PartitionInfo", "SCHEMA", "ls", "read", "schema"]
__version__ = _kreplay.__version__

PathLike = Union[str, "os.PathLike[str]"]


def _paths(log_dirs: Union[PathLike, Iterable[PathLike]]) -> List[str]:
    if isinstance(log_dirs, (str, os.PathLike)):
        return [os.fspath(log_dirs)]
    return [os.fspath(d) for d in log_dirs]


class _Stream:
    """Holds the engine's Arrow C stream capsule until pyarrow takes it."""

    def __init__(self, capsule: object) -> None:
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        if requested_schema is not None:
            raise NotImplementedError("kreplay streams have one fixed schema")
        return self._capsule


def read(
    log_dirs: Union[PathLike, Iterable[PathLike]],
    topics: Union[str, Sequence[str]],
    *,
    isolation_level: str = "read_uncommitted",
    start: Union[str, int] = "earliest",
    start_timestamp: Optional[int] = None,
    end: Optional[int] = None,
    partitions: Optional[Sequence[int]] = None,
    batch_records: int = 65536,
    check_crcs: bool = True,
    layout: str = "binary",
    threads: Optional[int] = None,
) -> pa.RecordBatchReader:
    """Reads the records of ``topics`` as a stream of Arrow record batches.

    Each partition is read in offset order, from
    ``start`` (``"earliest"``, ``"latest"`` or an offset; or the first record
    at or after ``start_timestamp``, in ms since the epoch) up to the log
    end, or up to offset ``end`` (exclusive) in each partition.
    ``isolation_level="read_committed"`` hides aborted transactions and
    stops at the first open one, as Kafka's consumer does.

    ``threads`` partitions are read at once, each by one thread (default:
    as many as the machine has cores). With one thread the partitions come
    one after the other; with more, batches of different partitions
    interleave as they are made (each partition's still in offset order).
    Each batch holds ``batch_records`` rows but a partition's last.

    ``layout="binary"`` (the default) copies keys and values into
    ``pyarrow.binary()`` columns. ``layout="view"`` gives them as
    ``pyarrow.binary_view()`` columns over the bytes the records were read
    from: no payload byte is copied (values of up to 12 bytes are kept
    inside their views), and the batches keep those bytes alive for as long
    as they live. DuckDB and Polars take views; pyarrow's own compute
    functions (``filter``, ``take``, ``sort_by``, ``binary_length``, ...)
    have no kernels for ``binary_view`` yet: cast those columns to
    ``pa.binary()`` first, or read with the default layout.

    The reading happens in Rust threads, ahead of the reader by at most one
    batch a thread, without holding the GIL.
    A corrupt batch raises ``pyarrow.ArrowInvalid`` from the reader, its message naming
    the segment file, byte position and offset; the batches before it are
    delivered first. Errors found when opening (no such topic, a log dir
    that cannot be read) raise :class:`KreplayError`.
    """
    if isinstance(topics, str):
        topics = [topics]
    capsule = _kreplay.read_stream(
        _paths(log_dirs),
        list(topics),
        isolation_level=isolation_level,
        start=start,
        start_timestamp=start_timestamp,
        end=end,
        partitions=None if partitions is None else list(partitions),
        batch_records=batch_records,
        check_crcs=check_crcs,
        layout=layout,
        threads=threads,
    )
    return pa.RecordBatchReader.from_stream(_Stream(capsule))


@dataclass(frozen=True)
class PartitionInfo:
    """One partition found in the log dirs."""

    topic: str
    partition: int
    log_start_offset: int
    log_end_offset: int


def ls(log_dirs: Union[PathLike, Iterable[PathLike]]) -> List[PartitionInfo]:
    """The partitions in ``log_dirs``, with their log start and end offsets."""
    return [PartitionInfo(*row) for row in _kreplay.list_partitions(_paths(log_dirs))]


class _Schema:
    def __init__(self, layout: str) -> None:
        self._layout = layout

    def __arrow_c_schema__(self) -> object:
        return _kreplay.schema_capsule(self._layout)


def schema(layout: str = "binary") -> pa.Schema:
    """The schema of the record batches :func:`read` gives with ``layout``."""
    return pa.schema(_Schema(layout))


SCHEMA: pa.Schema = schema()
"""The schema of the record batches :func:`read` gives by default, the one
``kreplay export`` writes (``schema("view")`` has ``key`` and ``value`` as
``binary_view``)."""
