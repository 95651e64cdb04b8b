"""Entries from CSV text and from the wire: every problem names its line (or row) and field."""

from __future__ import annotations

import pytest

from edge.hotlist.csv_import import CsvProblems, read_changes, read_entries, wire_entries
from edge.hotlist.entries import EntryProblem, columns_from_text, columns_from_wire


def test_csv_values_are_normalised(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(
        "\ufeffvrm,category,priority,action,reason,expires_at\n"
        " ab12-cde ,Stolen,1, Intercept ,  seen twice ,2031-01-01T01:00:00+01:00\n"
        "\n"
        "X1,drugs,5,monitor,,\n",
        encoding="utf-8",
    )
    rows = wire_entries(read_entries(path))
    assert rows == [
        ["AB12CDE", "stolen", 1, "intercept", "seen twice", "2031-01-01T00:00:00Z"],
        ["X1", "drugs", 5, "monitor", "", None],
    ]


@pytest.mark.parametrize(
    ("row", "field", "text"),
    [
        ("AB1,stolen,1,intercept,,2031-01-01T00:00:00", "expires_at", "with its offset"),
        ("AB1,stolen,1,intercept,,1969-01-01T00:00:00Z", "expires_at", "between 1970 and 2106"),
        ("AB1,stolen,0,intercept,,", "priority", "expected 1 (most urgent)"),
        ("AB1,,1,intercept,,", "category", "expected 1–32 of a–z"),
        ("AB1,stolen,1,do not stop,,", "action", "expected 1–32 of a–z"),
        ("AB1,stolen,1,intercept," + "x" * 201 + ",", "reason", "at most 200"),
        ("ABCDEFGHIJK,stolen,1,intercept,,", "vrm", "at most 10"),
    ],
)
def test_bad_csv_values_name_line_and_field(tmp_path, row, field, text):
    path = tmp_path / "l.csv"
    path.write_text(f"vrm,category,priority,action,reason,expires_at\nOK1,a,1,b,,\n{row}\n")
    with pytest.raises(CsvProblems) as caught:
        read_entries(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: line 3: field {field}: ") and text in problem


def test_every_bad_row_is_reported_not_just_the_first(tmp_path):
    path = tmp_path / "l.csv"
    rows = "".join(f"A{i},a,{9 if i % 1000 == 0 else 1},b\n" for i in range(1, 30_001))
    path.write_text("vrm,category,priority,action\n" + rows)
    with pytest.raises(CsvProblems) as caught:
        read_entries(path)
    assert len(caught.value.problems) == 20  # capped, in file order
    assert caught.value.problems[0].startswith(f"{path}: line 1001: field priority")


def test_csv_structure_problems(tmp_path):
    path = tmp_path / "l.csv"
    for text, expected in (
        ("", "line 1: empty file"),
        ("vrm,category,priority\n", "missing column 'action'"),
        ("vrm,category,priority,action\nA1,a,1\n", "line 2: 3 fields"),
        ("vrm,vrm,category,priority,action\n", "appears twice"),
    ):
        path.write_text(text)
        with pytest.raises(CsvProblems, match=expected):
            read_entries(path)
    path.write_bytes(b"vrm,category,priority,action\n\xff\xfe,a,1,b\n")
    with pytest.raises(Exception, match="not UTF-8"):
        read_entries(path)


def test_change_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "op,vrm,category,priority,action\nadd,A1,a,1,b\nREMOVE,b 2,,,\nupdate,C3,c,2,d\n"
    )
    assert [(op, vrm, line) for op, vrm, _, line in read_changes(path)] == [
        ("add", "A1", 2),
        ("remove", "B2", 3),
        ("update", "C3", 4),
    ]
    path.write_text("op,vrm,category,priority,action\nrename,A1,a,1,b\nadd,A1,a,1,b\n")
    with pytest.raises(CsvProblems, match="line 2: field op"):
        read_changes(path)


def test_wire_entries_are_strict_about_types():
    with pytest.raises(EntryProblem) as caught:
        columns_from_wire([["A1", "a", 1, "b", "", None], ["A2", "a", True, "b", "", None]])
    assert (caught.value.row, caught.value.field, caught.value.wrong_type) == (1, "priority", True)
    with pytest.raises(EntryProblem) as caught:
        columns_from_wire([["a1", "a", 1, "b", "", None]])  # the wire must be normalised
    assert caught.value.field == "vrm" and not caught.value.wrong_type
    assert len(columns_from_text([])) == 0 and len(columns_from_wire([])) == 0
