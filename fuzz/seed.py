#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora from the repository's fixtures.

    python3 fuzz/seed.py                # the small committed set: fuzz/corpus/<target>/
    python3 fuzz/seed.py --full DIR     # everything usable, into DIR/<target>/ (CI)

The committed set is a handful of small files per target, chosen
deterministically (rerunning the script rewrites the same bytes). --full
adds every fixture log and index file up to --max-size bytes, and the
broker-written files of ../shared/conformance when that directory sits
beside the checkout (never committed: see fixtures/README.md).

Input formats (see fuzz/src/checks.rs):
  record_batch      one batch as it sits in a segment
  segment           a whole .log file
  decompress        codec/flags byte, 24-bit cap, compressed bytes
  index             kind byte, base offset i64, parameter i64, index bytes
  checkpoint        selector byte (even: offsets file, odd: Kafka checkpoint), file
  group_state       flags byte, u16 state length, state file, member file, 0xff, owner file
  writer_roundtrip  arbitrary-built; no seeds (libFuzzer starts from nothing)
"""

import argparse
import hashlib
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared" / "conformance"

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
DECOMPRESS_CAP = 1 << 20


def batches(data):
    """(position, bytes) of each complete batch of a .log file."""
    position = 0
    while position + 17 <= len(data):
        _, length = struct.unpack_from(">qi", data, position)
        if length < 14 or position + 12 + length > len(data):
            return
        yield position, data[position:position + 12 + length]
        position += 12 + length


def compressed_payload(batch):
    """(codec id, legacy lz4, compressed bytes) of a compressed batch, or None."""
    magic = batch[16]
    if magic == 2:
        if len(batch) < 61:
            return None
        (attributes,) = struct.unpack_from(">h", batch, 21)
        codec = attributes & 7
        if codec == 0 or len(batch) == 61:
            return None
        return codec, False, batch[61:]
    if magic not in (0, 1):
        return None
    attributes = batch[17]
    codec = attributes & 7
    if codec == 0:
        return None
    at = 18 + (8 if magic == 1 else 0)
    (key_len,) = struct.unpack_from(">i", batch, at)
    at += 4 + max(key_len, 0)
    (value_len,) = struct.unpack_from(">i", batch, at)
    at += 4
    if value_len < 0:
        return None
    return codec, magic == 0, batch[at:at + value_len]


def is_control(batch):
    return batch[16] == 2 and len(batch) >= 61 and struct.unpack_from(">h", batch, 21)[0] & 0x20 != 0


def decompress_input(codec, legacy, payload):
    flags = codec | (0x08 if legacy else 0)
    return bytes([flags]) + DECOMPRESS_CAP.to_bytes(3, "big") + payload


def index_input(kind, base_offset, parameter, data):
    return bytes([kind]) + struct.pack(">qq", base_offset, parameter) + data


class Corpus:
    def __init__(self, root, max_size, max_files):
        self.root = Path(root)
        self.max_size = max_size
        self.max_files = max_files
        self.seen = {}

    def add(self, target, data, name=None):
        seen = self.seen.setdefault(target, {})
        digest = hashlib.sha1(data).hexdigest()
        if len(data) > self.max_size or digest in seen or len(seen) >= self.max_files:
            return
        name = name or digest
        base, k = name, 1
        while name in seen.values():
            k += 1
            name = f"{base}.{k}"
        seen[digest] = name
        directory = self.root / target
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


def case_logs(root):
    """(case name, .log path) of every case under a corpus root, sorted."""
    for log in sorted(root.rglob("*.log")):
        yield log.relative_to(root).parts[0], log


def seed_logs(corpus, root, full, label):
    for case, log in case_logs(root):
        data = log.read_bytes()
        suffix = "" if full else f"{label}{case}"
        # segment: whole files (the committed set: legacy, mixed and damaged
        # ones, which the segment target is for).
        if full or case.startswith(("legacy-", "mixed-")) or label:
            corpus.add("segment", data, None if full else f"{suffix}.log")
        # record_batch: the first batch of each valid case (and the last,
        # when it is a control batch), and in the full set every batch.
        found = list(batches(data))
        if full:
            picked = found[:8] + [b for b in found[8:] if is_control(b[1])][:4]
        elif label:
            picked = []
        else:
            picked = found[:1] + [b for b in found[1:][-1:] if is_control(b[1])]
        for n, (_, batch) in enumerate(picked):
            corpus.add("record_batch", batch, None if full else f"{suffix}-{n}.batch")
            payload = compressed_payload(batch)
            if payload:
                codec, legacy, body = payload
                corpus.add(
                    "decompress",
                    decompress_input(codec, legacy, body),
                    None if full else f"{suffix}-{CODECS[codec]}.bin",
                )


def seed_indexes(corpus, roots, full):
    picked = 0
    for root in roots:
        for path in sorted(root.rglob("*index")):
            if path.suffix not in (".index", ".timeindex", ".txnindex"):
                continue
            try:
                base_offset = int(path.name.split(".")[0])
            except ValueError:
                continue
            data = path.read_bytes()
            log = path.with_suffix(".log")
            log_size = log.stat().st_size if log.exists() else 1 << 30
            if not full and (picked >= 9 or not data):
                continue
            name = None if full else f"{path.parent.name}-{path.name}"
            if path.suffix == ".index":
                corpus.add("index", index_input(0, base_offset, log_size, data), name)
            elif path.suffix == ".timeindex":
                corpus.add("index", index_input(1, base_offset, 0, data), name)
            else:
                corpus.add("index", index_input(2, base_offset, 0, data), name)
            picked += 1
            if not full and path.suffix != ".txnindex":
                # A preallocated zero tail, as an active segment has.
                entry = 8 if path.suffix == ".index" else 12
                tail = data + bytes(entry * 4)
                kind = 0 if path.suffix == ".index" else 1
                corpus.add(
                    "index",
                    index_input(kind, base_offset, log_size, tail),
                    f"{name}-zero-tail",
                )


CHECKPOINTS = {
    # A group's offsets file, version 1 (kreplay's own) and 0 (Kafka's).
    "offsets-v1": b"\x00" + b"1\n3\norders 0 100 -\norders 1 7 =hello%20world\nmy%20topic 3 0 =\n",
    "offsets-v0": b"\x00" + b"0\n2\norders 0 100\nmy topic 3 7\n",
    "offsets-empty": b"\x00" + b"1\n0\n",
    "kafka-log-start": b"\x01" + b"0\n2\norders 0 100\nmy.topic-x 12 7\n",
    "kafka-recovery-point": b"\x01" + b"0\n1\n__consumer_offsets 36 1234567890\n",
}


def seed_checkpoints(corpus, roots, full):
    for name, data in CHECKPOINTS.items():
        corpus.add("checkpoint", data, None if full else name)
    for root in roots:
        for path in sorted(root.rglob("*checkpoint")):
            if path.is_file():
                data = path.read_bytes()
                name = None if full else f"{path.parent.name}-{path.name}"
                if full or path.name == "log-start-offset-checkpoint":
                    corpus.add("checkpoint", b"\x01" + data, name)


# Files `kreplay consume --group` wrote in its state dir over fixtures/demo
# (`--members 2` with range; a static member with cooperative-sticky that
# left, and a dynamic one that joined after it), copied while it ran.
GROUP_STATES = {
    "range-2-members": (
        b"kreplay-group 1\ngeneration 1\nprotocol range\ntopic metrics 3\ntopic orders 3\n"
        b"member kreplay%2D27494%2D0%2D33740278 - 1 45000 - kreplay vm 27494 metrics,orders "
        b"metrics:0,metrics:1,orders:0,orders:1\n"
        b"member kreplay%2D27494%2D1%2D18d2eaa1 - 1 45000 - kreplay vm 27494 metrics,orders "
        b"metrics:2,orders:2\n"
    ),
    "static-departed": (
        b"kreplay-group 1\ngeneration 2\nprotocol cooperative-sticky\ntopic orders 3\n"
        b"member kreplay%2D27604%2D0%2D6dff1e39 box%2D1 1 45000 1795651213121 kreplay vm 27604 "
        b"orders orders:0,orders:1\n"
        b"member kreplay%2D27657%2D0%2Ddd3f1ca0 - 2 45000 - kreplay vm 27657 orders orders:2\n"
    ),
}
GROUP_MEMBERS = {
    "range": (
        b"kreplay-member 1\nmember kreplay%2D27494%2D0%2D33740278\ninstance -\nclient kreplay\n"
        b"host vm\npid 27494\nassignor range\nsession-timeout-ms 45000\n"
        b"topic metrics 3\ntopic orders 3\n"
    ),
    "static": (
        b"kreplay-member 1\nmember kreplay%2D27604%2D0%2D6dff1e39\ninstance box%2D1\n"
        b"client kreplay\nhost vm\npid 27604\nassignor cooperative-sticky\n"
        b"session-timeout-ms 45000\ntopic orders 3\n"
    ),
}


def group_state_input(flags, state, member, owner=None):
    data = bytes([flags]) + struct.pack(">H", len(state)) + state + member
    return data if owner is None else data + b"\xff" + owner


def seed_group_state(corpus):
    """A group's state and member files as the engine wrote them, with the
    flags that make the member live (bit 2) and hold orders-0 (bits 3, 4)."""
    state, member = GROUP_STATES["range-2-members"], GROUP_MEMBERS["range"]
    owner = b"kreplay-27494-0-33740278"
    corpus.add("group_state", group_state_input(0, state, member), "range-dead-member")
    corpus.add("group_state", group_state_input(4, state, member), "range-live-member")
    corpus.add("group_state", group_state_input(4 | 8 | 16, state, member, owner), "range-live-owner")
    corpus.add("group_state", group_state_input(1 | 8, state, member, owner), "roundrobin-owner-file")
    state, member = GROUP_STATES["static-departed"], GROUP_MEMBERS["static"]
    corpus.add("group_state", group_state_input(3 | 32 | 64, state, member), "static-back")
    corpus.add("group_state", group_state_input(3 | 4 | 32, state, member), "static-live")
    corpus.add("group_state", group_state_input(2, b"", b""), "no-files")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", metavar="DIR", help="write every usable seed into DIR/<target>/")
    parser.add_argument("--max-size", type=int, default=None,
                        help="skip seeds larger than this (default 32 KiB, 128 KiB with --full)")
    parser.add_argument("--max-files", type=int, default=None,
                        help="at most this many seeds per target (default 40, 400 with --full)")
    args = parser.parse_args()
    full = args.full is not None
    out = Path(args.full) if full else ROOT / "fuzz" / "corpus"
    max_size = args.max_size or ((128 << 10) if full else (32 << 10))
    max_files = args.max_files or (400 if full else 40)
    corpus = Corpus(out, max_size, max_files)

    conformance = [FIXTURES / "conformance" / "corpus", FIXTURES / "conformance" / "corpus-bad"]
    seed_logs(corpus, conformance[0], full, "")
    seed_logs(corpus, conformance[1], full, "corrupt-")
    roots = [FIXTURES / "demo"]
    if full:
        seed_logs(corpus, FIXTURES / "demo", True, "")
        if SHARED.is_dir():
            for kind in ("corpus", "corpus-bad", "real"):
                if (SHARED / kind).is_dir():
                    seed_logs(corpus, SHARED / kind, True, "")
                    roots.append(SHARED / kind)
        else:
            print("seed: ../shared/conformance is not present; fixtures only", file=sys.stderr)
    seed_indexes(corpus, roots, full)
    seed_checkpoints(corpus, roots, full)
    seed_group_state(corpus)

    for target in sorted(corpus.seen):
        print(f"seed: {target}: {len(corpus.seen[target])} files in {out / target}")


if __name__ == "__main__":
    main()
