"""Hotlist CSV files: entries (for `hotlist import` and `hotlist sign`) and changes (`sign
--base`), with every problem named by file, line and field.

Entries use exactly the column names of DESIGN §4: `vrm`, `category`, `priority`, `action`
(required), `reason`, `expires_at` (optional). A change file adds an `op` column: `add`,
`update` or `remove` (a removal needs only the `vrm`). Unknown columns are errors rather than
ignored, so a misspelt `prority` column cannot silently drop every priority. Rows are validated
in chunks (fast); a chunk with a problem is re-checked row by row to report each bad row, up to
`MAX_PROBLEMS`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import UserError
from edge.hotlist.entries import (
    COLUMNS,
    EntryColumns,
    EntryProblem,
    columns_from_text,
    format_time,
)
from edge.hotlist.keys import normalise_vrm
from edge.progress import Progress

REQUIRED = ("vrm", "category", "priority", "action")
CHUNK_ROWS = 10_000
PROGRESS_EVERY = 10_000  # rows between redraws of a progress line (each is a clock read)
MAX_PROBLEMS = 20


class CsvProblems(UserError):
    """Every problem found (up to MAX_PROBLEMS), one `file: line N: field F: …` per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, eq=False)
class CsvEntries:
    columns: EntryColumns
    lines: list[int]  # the file line of each entry


def read_entries(path: Path, progress: Progress | None = None) -> CsvEntries:
    """Every entry of an entries CSV; duplicate plates (after normalisation) are errors."""
    progress = progress or Progress("")
    records, lines = _read(path, COLUMNS, REQUIRED, progress)
    progress.phase("checking entries")
    entries = _validate(path, records, lines)
    _check_unique(path, entries.columns.vrms, entries.lines)
    return entries


def read_changes(
    path: Path, progress: Progress | None = None
) -> list[tuple[str, str, list | None, int]]:
    """The rows of a change CSV as (op, vrm, wire entry or None for removals, line)."""
    progress = progress or Progress("")
    records, lines = _read(path, ("op", *COLUMNS), ("op", "vrm"), progress)
    progress.phase("checking changes")
    problems: list[str] = []
    changes: list[tuple[str, str, list | None, int]] = []
    upserts = [
        (r, n)
        for r, n in zip(records, lines, strict=True)
        if (r.get("op") or "").strip().lower() != "remove"
    ]
    for record, line in zip(records, lines, strict=True):
        op = (record.get("op") or "").strip().lower()
        if op not in ("add", "update", "remove"):
            problems.append(
                f"{path}: line {line}: field op: got {record.get('op')!r}; "
                "expected add, update or remove"
            )
    if problems:
        raise CsvProblems(problems[:MAX_PROBLEMS])
    entries = _validate(path, [r for r, _ in upserts], [n for _, n in upserts])
    wire = iter(_wire_rows(entries.columns))
    for record, line in zip(records, lines, strict=True):
        op = record["op"].strip().lower()
        if op == "remove":
            try:
                vrm = normalise_vrm(record.get("vrm") or "")
            except ValueError as exc:
                problems.append(f"{path}: line {line}: field vrm: {exc}")
                continue
            changes.append((op, vrm, None, line))
        else:
            row = next(wire)
            changes.append((op, row[0], row, line))
    if problems:
        raise CsvProblems(problems[:MAX_PROBLEMS])
    _check_unique(path, [c[1] for c in changes], [c[3] for c in changes])
    return changes


def wire_entries(entries: CsvEntries) -> list[list]:
    """The entries as bundle lines, sorted by plate (the order a snapshot requires)."""
    rows = _wire_rows(entries.columns)
    rows.sort(key=lambda row: row[0])
    return rows


def _wire_rows(columns: EntryColumns) -> list[list]:
    return [
        [vrm, category, int(priority), action, reason, format_time(int(expires))]
        for vrm, category, priority, action, reason, expires in zip(
            columns.vrms,
            columns.categories,
            columns.priorities.tolist(),
            columns.actions,
            columns.reasons,
            columns.expires.tolist(),
            strict=True,
        )
    ]


def _read(path: Path, allowed: tuple[str, ...], required: tuple[str, ...], progress: Progress):
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    progress.phase("reading the CSV", text.count("\n"), "lines")
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise CsvProblems(
            [f"{path}: line 1: empty file; expected a header with {', '.join(allowed)}"]
        ) from None
    except csv.Error as exc:
        raise CsvProblems([f"{path}: line 1: {exc}"]) from None
    unknown = [name for name in header if name not in allowed]
    missing = [name for name in required if name not in header]
    problems = [
        f"{path}: line 1: unknown column {name!r}; expected columns {', '.join(allowed)}"
        for name in unknown
    ]
    problems += [f"{path}: line 1: missing column {name!r}" for name in missing]
    if len(set(header)) != len(header):
        problems.append(f"{path}: line 1: a column name appears twice")
    if problems:
        raise CsvProblems(problems)
    records, lines = [], []
    try:
        for row in reader:
            if reader.line_num % PROGRESS_EVERY == 0:
                progress.update(reader.line_num)
            if not any(field.strip() for field in row):
                continue  # blank line
            if len(row) != len(header):
                problems.append(
                    f"{path}: line {reader.line_num}: {len(row)} fields; the "
                    f"header has {len(header)}"
                )
                continue
            records.append(dict(zip(header, row, strict=True)))
            lines.append(reader.line_num)
    except csv.Error as exc:
        problems.append(f"{path}: line {reader.line_num}: {exc}")
    if problems:
        raise CsvProblems(problems[:MAX_PROBLEMS])
    return records, lines


def _validate(path: Path, records: list[dict], lines: list[int]) -> CsvEntries:
    chunks, problems = [], []
    for start in range(0, len(records), CHUNK_ROWS):
        chunk = records[start : start + CHUNK_ROWS]
        try:
            chunks.append(columns_from_text(chunk))
            continue
        except EntryProblem:
            pass
        for offset, record in enumerate(chunk):  # name every bad row of this chunk
            try:
                columns_from_text([record])
            except EntryProblem as problem:
                problems.append(f"{path}: line {lines[start + offset]}: {problem}")
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise CsvProblems(problems[:MAX_PROBLEMS])
    return CsvEntries(_concatenate(chunks), lines)


def _concatenate(chunks: list[EntryColumns]) -> EntryColumns:
    if len(chunks) == 1:
        return chunks[0]
    if not chunks:
        return columns_from_text([])
    return EntryColumns(
        [v for c in chunks for v in c.vrms],
        np.concatenate([c.keys for c in chunks]),
        [v for c in chunks for v in c.categories],
        np.concatenate([c.priorities for c in chunks]),
        [v for c in chunks for v in c.actions],
        [v for c in chunks for v in c.reasons],
        np.concatenate([c.expires for c in chunks]),
    )


def _check_unique(path: Path, vrms: list[str], lines: list[int]) -> None:
    first: dict[str, int] = {}
    problems = []
    for vrm, line in zip(vrms, lines, strict=True):
        if vrm in first:
            problems.append(
                f"{path}: line {line}: field vrm: {vrm} is already on line {first[vrm]}"
            )
        else:
            first[vrm] = line
    if problems:
        raise CsvProblems(problems[:MAX_PROBLEMS])
