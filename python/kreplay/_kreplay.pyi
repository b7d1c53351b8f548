# Types of the extension module (python/src/lib.rs); the public API is
# kreplay/__init__.py, typed inline.
from typing import List, Optional, Tuple

__version__: str

class KreplayError(Exception): ...

def read_stream(
    log_dirs: List[str],
    topics: List[str],
    *,
    isolation_level: str,
    start: object,
    start_timestamp: Optional[int],
    end: Optional[int],
    partitions: Optional[List[int]],
    batch_records: int,
    check_crcs: bool,
    layout: str,
    threads: Optional[int],
) -> object: ...
def list_partitions(log_dirs: List[str]) -> List[Tuple[str, int, int, int]]: ...
def schema_capsule(layout: str) -> object: ...
