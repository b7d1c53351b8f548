"""kreplay.Consumer: the engine's consumer, with Kafka's consumer semantics
and groups, polling Arrow record batches."""

from __future__ import annotations

import os
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from . import _kreplay

TopicPartition = Tuple[str, int]
PathLike = Union[str, "os.PathLike[str]"]


def _paths(log_dirs: Union[PathLike, Iterable[PathLike]]) -> List[str]:
    if isinstance(log_dirs, (str, os.PathLike)):
        return [os.fspath(log_dirs)]
    return [os.fspath(d) for d in log_dirs]


def _tps(partitions: Iterable[TopicPartition]) -> List[TopicPartition]:
    return [(str(t), int(p)) for t, p in partitions]


class _Array:
    """Holds one poll's Arrow C data capsules until pyarrow takes them."""

    def __init__(self, capsules: Tuple[object, object]) -> None:
        self._capsules = capsules

    def __arrow_c_array__(self, requested_schema: object = None) -> Tuple[object, object]:
        if requested_schema is not None:
            raise NotImplementedError("kreplay batches have one fixed schema")
        return self._capsules


class Consumer:
    """Replays partitions from disk with Kafka's consumer semantics.

    ``log_dirs`` are Kafka log dirs (or partition dirs). Give the consumer
    partitions with :meth:`assign` (a manual assignment) or :meth:`subscribe`
    (whole topics; with a ``group_id`` the consumer is a member of that group
    and reads only the partitions the group assigns it, rebalancing as
    members come and go). A group needs a ``state_dir``, where its committed
    offsets and membership live (never inside a log dir).

    :meth:`poll` returns a :class:`pyarrow.RecordBatch` with the schema of
    :func:`kreplay.read` (:data:`kreplay.SCHEMA`), empty when nothing came.
    As in Kafka, :meth:`position` is the next offset a poll returns and
    :meth:`commit` stores that "next offset to read".

    The options are Kafka's consumer configs: ``isolation_level``,
    ``auto_offset_reset`` (where a partition without a committed offset
    starts; ``"earliest"`` here, where Kafka's Java client says
    ``"latest"``: a replay usually wants the log from its start),
    ``check_crcs``, ``max_poll_records``, ``fetch_max_bytes``,
    ``max_partition_fetch_bytes``, ``client_id``, ``group_instance_id``
    (a static member), ``partition_assignment_strategy`` (``"range"``,
    ``"roundrobin"``, ``"sticky"``, ``"cooperative-sticky"``),
    ``session_timeout_ms`` and ``heartbeat_interval_ms``. ``follow=True``
    keeps polling a live log for appended records instead of ending at its
    end. ``enable_auto_commit=True`` commits as Kafka's consumer does: a
    poll commits the positions of the records earlier polls returned once
    ``auto_commit_interval_ms`` has passed, a revocation commits the revoked
    partitions and :meth:`close` commits the rest (off by default here, where
    Kafka's Java client turns it on with a group: a replay commits when its
    caller says, with :meth:`commit`).

    Engine errors (a log dir that cannot be read, an unknown topic, a
    corrupt batch: the message names the segment file, byte position and
    offset) raise :class:`kreplay.KreplayError`. Use it as a context manager
    (``with kreplay.Consumer(...) as consumer:``) or call :meth:`close`.
    Iterating yields the non-empty polls until every assigned partition was
    read to its end (not with ``follow=True``, where it goes on).
    """

    def __init__(
        self,
        log_dirs: Union[PathLike, Iterable[PathLike]],
        *,
        group_id: Optional[str] = None,
        state_dir: Optional[PathLike] = None,
        isolation_level: str = "read_uncommitted",
        auto_offset_reset: str = "earliest",
        check_crcs: bool = True,
        max_poll_records: int = 500,
        fetch_max_bytes: int = 4 << 20,
        max_partition_fetch_bytes: int = 128 << 10,
        client_id: str = "kreplay",
        group_instance_id: Optional[str] = None,
        partition_assignment_strategy: str = "range",
        session_timeout_ms: float = 45_000,
        heartbeat_interval_ms: float = 3_000,
        follow: bool = False,
        enable_auto_commit: bool = False,
        auto_commit_interval_ms: float = 5_000,
    ) -> None:
        self._max_poll_records = max_poll_records
        self._raw = _kreplay.RawConsumer(
            _paths(log_dirs),
            group_id=group_id,
            state_dir=None if state_dir is None else os.fspath(state_dir),
            isolation_level=isolation_level,
            auto_offset_reset=auto_offset_reset,
            check_crcs=check_crcs,
            max_poll_records=max_poll_records,
            fetch_max_bytes=fetch_max_bytes,
            max_partition_fetch_bytes=max_partition_fetch_bytes,
            client_id=client_id,
            group_instance_id=group_instance_id,
            partition_assignment_strategy=partition_assignment_strategy,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            follow=follow,
            enable_auto_commit=enable_auto_commit,
            auto_commit_interval_ms=auto_commit_interval_ms,
        )

    # Assignment

    def subscribe(self, topics: Union[str, Sequence[str]]) -> None:
        """Subscribes to whole topics (replacing any subscription).

        With a ``group_id`` the consumer joins the group; its partitions
        arrive over the following polls. Without one, every partition of
        the topics is assigned at once.
        """
        if isinstance(topics, str):
            topics = [topics]
        self._raw.subscribe(list(topics))

    def unsubscribe(self) -> None:
        """Leaves the group and drops every partition."""
        self._raw.unsubscribe()

    def subscription(self) -> List[str]:
        """The subscribed topics."""
        return self._raw.subscription()

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Assigns these ``(topic, partition)`` pairs (no group membership),
        each positioned at the group's committed offset when there is one,
        else per ``auto_offset_reset``."""
        self._raw.assign(_tps(partitions))

    def assignment(self) -> List[TopicPartition]:
        """The ``(topic, partition)`` pairs this consumer reads now."""
        return self._raw.assignment()

    def partitions_for(self, topic: str) -> List[TopicPartition]:
        """Every partition of ``topic`` in the log dirs."""
        return self._raw.partitions_for(topic)

    @property
    def member_id(self) -> Optional[str]:
        """This member's id in its group (``None`` outside one)."""
        return self._raw.member_id()

    @property
    def generation(self) -> Optional[int]:
        """The group generation this member is in (``None`` outside one)."""
        return self._raw.generation()

    # Reading

    def poll(self, max_records: Optional[int] = None, timeout: float = 1.0) -> pa.RecordBatch:
        """The next records: at most ``max_records`` (and at most
        ``max_poll_records``), in offset order within each partition.

        Waits up to ``timeout`` seconds when none are ready; returns an
        empty batch when none came. The positions move past exactly the
        records returned. The engine's work runs with the GIL released.
        """
        limit = self._max_poll_records if max_records is None else max_records
        if limit < 1:
            raise ValueError(f"max_records {limit}: expected at least 1")
        capsules = self._raw.poll(min(limit, self._max_poll_records), timeout * 1000.0)
        return pa.record_batch(_Array(capsules))

    def at_end(self) -> bool:
        """Whether every assigned, unpaused partition was read to its end
        (or, with read_committed, its last stable offset)."""
        return self._raw.at_end()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            batch = self.poll()
            if batch.num_rows:
                yield batch
            elif self.at_end():
                return

    # Positions

    def position(self, topic: str, partition: int) -> int:
        """The next offset a poll returns for the partition."""
        return self._raw.position((topic, partition))

    def seek(self, topic: str, partition: int, offset: int) -> None:
        """The next poll returns the partition's records from ``offset``
        (the first existing record at or after it); an offset outside the
        log follows ``auto_offset_reset``."""
        self._raw.seek((topic, partition), offset)

    def seek_to_beginning(self, partitions: Optional[Iterable[TopicPartition]] = None) -> None:
        """Seeks to the log start offsets (of every assigned partition by default)."""
        self._raw.seek_to_beginning(self._or_assigned(partitions))

    def seek_to_end(self, partitions: Optional[Iterable[TopicPartition]] = None) -> None:
        """Seeks to the log end offsets (of every assigned partition by default)."""
        self._raw.seek_to_end(self._or_assigned(partitions))

    def beginning_offsets(self, partitions: Iterable[TopicPartition]) -> Dict[TopicPartition, int]:
        """Log start offsets."""
        return dict(self._raw.beginning_offsets(_tps(partitions)))

    def end_offsets(self, partitions: Iterable[TopicPartition]) -> Dict[TopicPartition, int]:
        """Log end offsets."""
        return dict(self._raw.end_offsets(_tps(partitions)))

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stops returning records of these partitions until resumed."""
        self._raw.pause(_tps(partitions))

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Resumes paused partitions."""
        self._raw.resume(_tps(partitions))

    def paused(self) -> List[TopicPartition]:
        """The paused partitions."""
        return self._raw.paused()

    # Commits

    def commit(
        self,
        offsets: Optional[Mapping[TopicPartition, Union[int, Tuple[int, Optional[str]]]]] = None,
    ) -> None:
        """Commits for the group, synchronously.

        Without ``offsets``: the position of every assigned partition (the
        next offset to read, past every record polled). With ``offsets``:
        ``{(topic, partition): offset}`` (or ``(offset, metadata)``), each
        offset the next one to read, as in Kafka.
        """
        if offsets is None:
            self._raw.commit_sync()
            return
        triples = []
        for (topic, partition), value in offsets.items():
            offset, metadata = value if isinstance(value, tuple) else (value, None)
            triples.append(((str(topic), int(partition)), int(offset), metadata))
        self._raw.commit_offsets(triples)

    def committed(
        self, partitions: Optional[Iterable[TopicPartition]] = None
    ) -> Dict[TopicPartition, Optional[int]]:
        """The group's committed offsets of these partitions (the assigned
        ones by default); ``None`` for a partition with no commit."""
        wanted = self._or_assigned(partitions)
        found = {tp: offset for tp, offset, _ in self._raw.committed(wanted)}
        return {tp: found.get(tp) for tp in wanted}

    # Lifetime

    def close(self) -> None:
        """Leaves the group and stops the fetcher. Nothing is committed,
        unless ``enable_auto_commit``: then the positions are."""
        self._raw.close()

    @property
    def closed(self) -> bool:
        return self._raw.closed()

    def __enter__(self) -> "Consumer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _or_assigned(self, partitions: Optional[Iterable[TopicPartition]]) -> List[TopicPartition]:
        return self._raw.assignment() if partitions is None else _tps(partitions)
