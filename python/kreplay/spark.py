"""A PySpark data source over Kafka partition logs on disk (Spark 4's Python
Data Source API), so that Spark schedules the replay of many partitions:

>>> from kreplay.spark import register
>>> register(spark)
>>> df = (spark.read.format("kreplay").option("path", "fixtures/demo")
...       .option("topics", "metrics").load())

The DataFrame has the columns of :data:`kreplay.SCHEMA` (``topic`` a plain
string, ``timestamp`` a Spark timestamp). One Spark input partition reads
one Kafka partition, or, with ``maxRecordsPerSplit``, one offset range of
it; each is read by :func:`kreplay.read` on the executor, its Arrow batches
handed to Spark as they are.

Options: ``path`` (log dirs, comma-separated; every executor must see
them), ``topics`` (comma-separated), ``isolationLevel``
(``read_uncommitted`` or ``read_committed``), ``maxRecordsPerSplit``,
``checkCrcs``. Filters on ``partition`` (``=``, ``IN``), ``offset``
(``=``, ``<``, ``<=``, ``>``, ``>=``) and ``timestamp`` (``>``, ``>=``)
are pushed down (Spark 4.1 and later): partitions are skipped, offset
ranges narrowed, and a timestamp bound starts each partition at its first
record at or after it (the time index's seek). Spark still applies every
filter to the rows read, so the result is the same with or without
pushdown.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

import kreplay

try:  # Spark 4.1 and later
    from pyspark.sql.datasource import (
        EqualTo,
        GreaterThan,
        GreaterThanOrEqual,
        In,
        LessThan,
        LessThanOrEqual,
    )
except ImportError:  # pragma: no cover - Spark 4.0 has no filter pushdown
    EqualTo = GreaterThan = GreaterThanOrEqual = In = LessThan = LessThanOrEqual = ()

__all__ = ["KreplayDataSource", "register", "SPARK_SCHEMA"]

SPARK_SCHEMA = (
    "topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, "
    "timestamp_type TINYINT, key BINARY, value BINARY, "
    "headers ARRAY<STRUCT<key: STRING, value: BINARY>>, "
    "leader_epoch INT, producer_id BIGINT, producer_epoch SMALLINT"
)

# The Arrow schema Spark takes the rows in (it compares schemas exactly):
# kreplay.SCHEMA with the topic a plain string, timestamps in microseconds
# (Spark's unit), every field nullable and list items named "element".
_ARROW_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("timestamp_type", pa.int8()),
        ("key", pa.binary()),
        ("value", pa.binary()),
        (
            "headers",
            pa.list_(pa.field("element", pa.struct([("key", pa.string()), ("value", pa.binary())]))),
        ),
        ("leader_epoch", pa.int32()),
        ("producer_id", pa.int64()),
        ("producer_epoch", pa.int16()),
    ]
)


def register(spark: Any) -> None:
    """Registers the ``kreplay`` format with a SparkSession."""
    spark.dataSource.register(KreplayDataSource)


@dataclass(frozen=True)
class Split(InputPartition):
    """One Kafka partition, or the offsets ``[start, end)`` of one."""

    topic: str
    partition: int
    start: int
    end: int
    start_timestamp: Optional[int] = None


class KreplayDataSource(DataSource):
    """``spark.read.format("kreplay")``: records of Kafka partition logs."""

    @classmethod
    def name(cls) -> str:
        return "kreplay"

    def schema(self) -> str:
        return SPARK_SCHEMA

    def reader(self, schema: Any) -> "KreplayReader":
        return KreplayReader(dict(self.options))


def _option(options: Dict[str, str], name: str) -> Optional[str]:
    # Spark hands option names over case-insensitively, lowercased.
    for key, value in options.items():
        if key.lower() == name.lower():
            return value
    return None


def _millis(value: Any) -> Optional[int]:
    """A timestamp literal of a filter, in ms since the epoch."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    return None


class KreplayReader(DataSourceReader):
    def __init__(self, options: Dict[str, str]) -> None:
        path = _option(options, "path")
        topics = _option(options, "topics")
        if not path or not topics:
            raise ValueError("the kreplay data source needs the options 'path' and 'topics'")
        self.log_dirs = [p for p in path.split(",") if p]
        self.topics = [t for t in topics.split(",") if t]
        self.isolation_level = _option(options, "isolationLevel") or "read_uncommitted"
        self.check_crcs = (_option(options, "checkCrcs") or "true").lower() != "false"
        per_split = _option(options, "maxRecordsPerSplit")
        self.max_records_per_split = int(per_split) if per_split else None
        if self.max_records_per_split is not None and self.max_records_per_split < 1:
            raise ValueError("maxRecordsPerSplit must be at least 1")
        # Pushed down: kept partitions, offset bounds [low, high), timestamp.
        self.partitions_wanted: Optional[set] = None
        self.offset_low: Optional[int] = None
        self.offset_high: Optional[int] = None
        self.timestamp_low: Optional[int] = None

    def pushFilters(self, filters: List[Any]) -> Iterator[Any]:
        for f in filters:
            column = f.attribute[0] if len(f.attribute) == 1 else None
            if column == "partition" and isinstance(f, EqualTo):
                self._keep_partitions({f.value})
            elif column == "partition" and isinstance(f, In):
                self._keep_partitions(set(f.value))
            elif column == "offset" and isinstance(f, EqualTo):
                self._bound_offsets(f.value, f.value + 1)
            elif column == "offset" and isinstance(f, GreaterThan):
                self._bound_offsets(f.value + 1, None)
            elif column == "offset" and isinstance(f, GreaterThanOrEqual):
                self._bound_offsets(f.value, None)
            elif column == "offset" and isinstance(f, LessThan):
                self._bound_offsets(None, f.value)
            elif column == "offset" and isinstance(f, LessThanOrEqual):
                self._bound_offsets(None, f.value + 1)
            elif column == "timestamp" and isinstance(f, (GreaterThan, GreaterThanOrEqual)):
                millis = _millis(f.value)
                if millis is not None:
                    # > t starts at the first record at or after t: the
                    # records at t are dropped by Spark's own filter.
                    self.timestamp_low = max(self.timestamp_low or millis, millis)
            # Every filter is still applied by Spark: pushdown only narrows
            # what is read, the rows are the same.
            yield f

    def _keep_partitions(self, partitions: set) -> None:
        if self.partitions_wanted is None:
            self.partitions_wanted = set(partitions)
        else:
            self.partitions_wanted &= set(partitions)

    def _bound_offsets(self, low: Optional[int], high: Optional[int]) -> None:
        if low is not None:
            self.offset_low = low if self.offset_low is None else max(self.offset_low, low)
        if high is not None:
            self.offset_high = high if self.offset_high is None else min(self.offset_high, high)

    def partitions(self) -> Sequence[Split]:
        found = [p for p in kreplay.ls(self.log_dirs) if p.topic in self.topics]
        missing = set(self.topics) - {p.topic for p in found}
        if missing:
            raise ValueError(
                f"topic(s) {', '.join(sorted(missing))} have no partitions in {', '.join(self.log_dirs)}"
            )
        splits: List[Split] = []
        for p in sorted(found, key=lambda p: (self.topics.index(p.topic), p.partition)):
            if self.partitions_wanted is not None and p.partition not in self.partitions_wanted:
                continue
            start = max(p.log_start_offset, self.offset_low or p.log_start_offset)
            end = min(p.log_end_offset, self.offset_high or p.log_end_offset)
            if start >= end:
                continue
            step = self.max_records_per_split or (end - start)
            for low in range(start, end, step):
                splits.append(
                    Split(p.topic, p.partition, low, min(low + step, end), self.timestamp_low)
                )
        return splits

    def read(self, split: Split) -> Iterator[pa.RecordBatch]:
        reader = kreplay.read(
            self.log_dirs,
            [split.topic],
            partitions=[split.partition],
            isolation_level=self.isolation_level,
            start=split.start,
            start_timestamp=split.start_timestamp,
            end=split.end,
            check_crcs=self.check_crcs,
            threads=1,
        )
        for batch in reader:
            # With a timestamp bound, a split may start at its first record
            # at or after it; never before its own start.
            if split.start_timestamp is not None and batch.num_rows:
                offsets = batch.column("offset")
                keep = pc.greater_equal(offsets, split.start)
                batch = batch.filter(keep)
            if batch.num_rows:
                yield _for_spark(batch)


def _for_spark(batch: pa.RecordBatch) -> pa.RecordBatch:
    columns: List[pa.Array] = []
    for name, field in zip(_ARROW_SCHEMA.names, _ARROW_SCHEMA):
        column = batch.column(name)
        if name == "topic":
            column = column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
        columns.append(column.cast(field.type) if column.type != field.type else column)
    return pa.RecordBatch.from_arrays(columns, schema=_ARROW_SCHEMA)
