"""A signed snapshot of random UK registrations, for `bench hotlist` and the tests that need a
large list: streamed into the compressor a chunk at a time, the same bundle for the same seed.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

CATEGORIES = ("stolen", "no-insurance", "drugs", "firearms", "county-lines", "wanted")
ACTIONS = ("intercept", "monitor", "do-not-stop", "report")
REASONS = ("", "", "reported stolen", "PNC marker", "intelligence report", "no MOT")


def make_snapshot(
    folder: Path,
    entries: int,
    seed: int,
    *,
    list_id: str = "national",
    version: int = 1,
    signing_key: Path | None = None,
    include: tuple[str, ...] = (),
) -> tuple[Path, Path | None]:
    """A signed, gzip-compressed snapshot of `entries` random registrations (with the plates
    of `include` among them), streamed into the compressor a chunk at a time (the uncompressed
    payload of 10 M entries is ~0.5 GB). Signed with a new key pair, whose public key is
    returned, or with `signing_key` (then None is returned for it)."""
    from edge.hotlist.bundle import wrap
    from edge.hotlist.payload import ENTRY_COLUMNS, GZIP_WBITS, PAYLOAD_SCHEMA
    from edge.hotlist.sample import sample_registrations
    from edge.hotlist.signing import generate_keypair, load_signing_key

    rng = np.random.default_rng(seed)
    drawn = np.unique(np.array(sample_registrations(rng, int(entries * 1.1) + 1000)))
    chosen = rng.choice(drawn, size=entries - len(include), replace=False).tolist()
    wanted = set(include)
    chosen = [plate for plate in chosen if plate not in wanted]
    while len(chosen) + len(wanted) < entries:  # an included plate was drawn too: one more
        extra = sample_registrations(rng, 1)[0]
        if extra not in wanted and extra not in chosen:
            chosen.append(extra)
    plates = sorted([*chosen, *wanted])
    public: Path | None = None
    if signing_key is None:
        _, signing_key, public = generate_keypair(folder, "bench")
    header = {
        "schema": PAYLOAD_SCHEMA,
        "kind": "snapshot",
        "list": list_id,
        "version": version,
        "issued_at": "2026-03-01T00:00:00Z",
        "entries": entries,
        "columns": ENTRY_COLUMNS,
    }
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    out = [compressor.compress(json.dumps(header).encode() + b"\n")]
    for start in range(0, entries, 100_000):
        lines = _entry_lines(rng, plates[start : start + 100_000])
        out.append(compressor.compress(("\n".join(lines) + "\n").encode()))
    out.append(compressor.flush())
    bundle = folder / f"{list_id}-{version}.json"
    bundle.write_bytes(wrap(b"".join(out), load_signing_key(signing_key), "gzip"))
    return bundle, public


def _entry_lines(rng: np.random.Generator, chunk: list[str]) -> list[str]:
    """The payload lines of a chunk of plates, with random categories, actions, priorities,
    reasons and expiries (drawn in that order: the same seed gives the same bundle)."""
    n = len(chunk)
    cats, acts = rng.integers(len(CATEGORIES), size=n), rng.integers(len(ACTIONS), size=n)
    prios, reasons = rng.integers(1, 6, size=n), rng.integers(len(REASONS), size=n)
    expires = np.where(rng.random(n) < 0.2, '"2036-01-01T00:00:00Z"', "null").tolist()
    return [
        f'["{vrm}","{CATEGORIES[c]}",{p},"{ACTIONS[a]}","{REASONS[r]}",{e}]'
        for vrm, c, p, a, r, e in zip(
            chunk,
            cats.tolist(),
            prios.tolist(),
            acts.tolist(),
            reasons.tolist(),
            expires,
            strict=True,
        )
    ]
