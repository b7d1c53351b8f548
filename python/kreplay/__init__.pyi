import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Union

import pyarrow as pa

_PathLike = Union[str, os.PathLike[str]]

__version__: str
SCHEMA: pa.Schema

class KreplayError(Exception): ...

def read(
    log_dirs: Union[_PathLike, Iterable[_PathLike]],
    topics: Union[str, Sequence[str]],
    *,
    isolation_level: str = ...,
    start: Union[str, int] = ...,
    start_timestamp: Optional[int] = ...,
    end: Optional[int] = ...,
    partitions: Optional[Sequence[int]] = ...,
    batch_records: int = ...,
    check_crcs: bool = ...,
) -> pa.RecordBatchReader: ...

@dataclass(frozen=True)
class PartitionInfo:
    topic: str
    partition: int
    log_start_offset: int
    log_end_offset: int
    @property
    def records(self) -> int: ...

def ls(log_dirs: Union[_PathLike, Iterable[_PathLike]]) -> List[PartitionInfo]: ...
