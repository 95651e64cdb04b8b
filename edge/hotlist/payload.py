"""The payload of a bundle: JSON Lines, a header line and then one line per entry or change.

Why lines and not one JSON document: a national snapshot holds ten million entries. Parsed as
one document that is tens of millions of Python objects (gigabytes on a 4 GB Pi); as lines it
streams through in fixed-size blocks, each block parsed by one `json.loads` call (a per-line call
costs 3–4× more on this class of CPU). Entries are arrays in the order of `columns`, which the
header states, so the format documents itself at a third of the size of objects.

```
{"schema": "anpr.hotlist-payload/1", "kind": "snapshot", "list": "national", "version": 7,
 "issued_at": "2026-03-01T12:00:00Z", "entries": 2, "columns": ["vrm", "category", ...]}
["AB12CDE", "stolen", 1, "intercept", "reported 2026-02-27", null]
["BD51SMR", "no-insurance", 4, "monitor", "", "2026-06-01T00:00:00Z"]
```

A snapshot lists its entries in strictly ascending byte order of `vrm` (so duplicates are
adjacent and the unit stores them in key order). A delta's header has `base_version` and the
counts `adds`, `updates`, `removes`; its lines are `["add", …entry]`, `["update", …entry]` or
`["remove", vrm]`. The counts in a header let the unit detect a truncated payload.
Decompression is capped at `max_bytes` (hotlist.max_bundle_mb), checked block by block, so a
compressed bomb is refused after reading at most that much.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator

from edge.hotlist.rejections import BundleRejected, Reason

PAYLOAD_SCHEMA = "anpr.hotlist-payload/1"
ENTRY_COLUMNS = ["vrm", "category", "priority", "action", "reason", "expires_at"]
CHANGE_COLUMNS = ["op", *ENTRY_COLUMNS]
# ~4,000 entries a block: their Python objects (~1 MB) stay in the CPU's L2 cache through the
# several passes of validation and insert. With 4 MB blocks (62,000 entries, ~20 MB of objects)
# the apply took 10 % longer (4.12 vs 3.75 s CPU for 1 M entries, mean of 6 runs).
BLOCK_BYTES = 256 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_payload(header: dict, lines: Iterable[list]) -> bytes:
    """The uncompressed payload: the header line, then each line as compact JSON."""
    parts = [_LINE_ENCODER.encode(header).encode("utf-8")]
    parts.extend(_LINE_ENCODER.encode(line).encode("utf-8") for line in lines)
    parts.append(b"")
    return b"\n".join(parts)


def compress(payload: bytes) -> bytes:
    # mtime=0: the same payload always compresses to the same bytes (reproducible bundles)
    return gzip.compress(payload, compresslevel=6, mtime=0)


def read_lines(
    payload: bytes, compression: str, max_bytes: int
) -> tuple[dict, Iterator[tuple[int, list]]]:
    """Parse the header line and return it with an iterator over blocks of the following lines
    as `(line number of the first, [parsed line, …])`. Raises BundleRejected."""
    blocks = _line_blocks(_decompressed(payload, compression, max_bytes))
    try:
        _, region, lines = next(blocks)
    except StopIteration:
        raise BundleRejected(Reason.MALFORMED, "empty payload") from None
    header_bytes, _, rest = region.partition(b"\n")
    header = _parse_line(header_bytes, 1)
    if not isinstance(header, dict):
        raise BundleRejected(Reason.MALFORMED, "payload line 1: expected the header object")

    def parsed_blocks() -> Iterator[tuple[int, list]]:
        if rest:
            yield 2, _parse_region(rest, 2, lines - 1)
        for line_no, block, block_lines in blocks:
            yield line_no, _parse_region(block, line_no, block_lines)

    return header, parsed_blocks()


def _decompressed(payload: bytes, compression: str, max_bytes: int) -> Iterator[bytes]:
    if compression == "none":
        if len(payload) > max_bytes:
            raise _oversized(max_bytes)
        view = memoryview(payload)
        for start in range(0, len(payload), BLOCK_BYTES):
            yield bytes(view[start : start + BLOCK_BYTES])
        return
    inflater = zlib.decompressobj(GZIP_WBITS)
    total = 0
    view = memoryview(payload)
    try:
        for start in range(0, len(payload), BLOCK_BYTES // 4):
            data: bytes | memoryview = view[start : start + BLOCK_BYTES // 4]
            while data:
                block = inflater.decompress(data, BLOCK_BYTES)
                total += len(block)
                if total > max_bytes:
                    raise _oversized(max_bytes)
                if block:
                    yield block
                data = inflater.unconsumed_tail
        tail = inflater.flush()
    except zlib.error as exc:
        raise BundleRejected(Reason.MALFORMED, f"payload is not valid gzip: {exc}") from None
    if not inflater.eof or inflater.unused_data:
        raise BundleRejected(
            Reason.MALFORMED, "payload gzip stream is truncated or has trailing data"
        )
    if total + len(tail) > max_bytes:
        raise _oversized(max_bytes)
    if tail:
        yield tail


def _line_blocks(blocks: Iterator[bytes]) -> Iterator[tuple[int, bytes, int]]:
    """Regroup byte blocks into runs of whole lines: (number of the first line, the run, how
    many lines it holds)."""
    # The start of an unfinished line, in pieces joined once its end arrives: appending block by
    # block would copy a line spanning k blocks k times (hours for a 512 MB line-less payload).
    pending: list[bytes] = []
    line_no = 1
    for block in blocks:
        cut = block.rfind(b"\n")
        if cut < 0:
            pending.append(block)
            continue
        region = b"".join([*pending, block[:cut]]) if pending else block[:cut]
        pending = [block[cut + 1 :]]
        lines = region.count(b"\n") + 1
        yield line_no, region, lines
        line_no += lines
    carry = b"".join(pending)
    if carry:
        yield line_no, carry, carry.count(b"\n") + 1


def _parse_region(region: bytes, first_line: int, lines: int) -> list:
    """Parse `lines` newline-separated JSON values with one json.loads call; on any doubt fall
    back to line by line to name the bad line."""
    try:
        values = json.loads(b"[" + region.replace(b"\n", b",") + b"]")
        if len(values) == lines:
            return values
    except (ValueError, RecursionError):
        pass
    return [_parse_line(line, first_line + i) for i, line in enumerate(region.split(b"\n"))]


def _parse_line(line: bytes, line_no: int) -> object:
    if not line.strip():
        raise BundleRejected(Reason.MALFORMED, f"payload line {line_no}: empty line")
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise BundleRejected(
            Reason.MALFORMED, f"payload line {line_no}: not valid JSON ({exc})"
        ) from None


def _oversized(max_bytes: int) -> BundleRejected:
    return BundleRejected(
        Reason.OVERSIZED,
        f"payload exceeds {max_bytes // (1024 * 1024)} MB uncompressed (hotlist.max_bundle_mb)",
    )
