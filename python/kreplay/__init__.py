"""Replay Apache Kafka partition logs straight from disk, as Arrow.

kreplay reads a broker's own files (a data dir, a backup, a dead broker's
disk) with Kafka's consumer semantics; no broker is involved. Records come
as Arrow record batches with the schema of ``kreplay export`` (see
:data:`SCHEMA`), handed over through the Arrow C stream interface without
copying.

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

__all__ = ["Consumer", "KreplayError", "PartitionInfo", "SCHEMA", "ls", "read"]
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
) -> pa.RecordBatchReader:
    """Reads the records of ``topics`` as a stream of Arrow record batches.

    Partitions are read one after the other, each in offset order, from
    ``start`` (``"earliest"``, ``"latest"`` or an offset; or the first record
    at or after ``start_timestamp``, in ms since the epoch) up to the log
    end, or up to offset ``end`` (exclusive) in each partition.
    ``isolation_level="read_committed"`` hides aborted transactions and
    stops at the first open one, as Kafka's consumer does.

    The reading happens in Rust as the reader is consumed.
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
    def __arrow_c_schema__(self) -> object:
        return _kreplay.schema_capsule()


SCHEMA: pa.Schema = pa.schema(_Schema())
"""The schema of every record batch (the engine's, as ``kreplay export`` writes it)."""
