"""Bad hotlist CSVs: every row imports or the error names its line and field."""

from __future__ import annotations

import csv

from hypothesis import given
from hypothesis import strategies as st

from edge.errors import UserError
from edge.hotlist.csv_import import CsvProblems, read_changes, read_entries
from tests.support.bad_input import CASES, examples

# ---------------------------------------------------------------------------------------------
# Hotlist CSVs
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = ["vrm", "category", "priority", "action", "reason", "expires_at"]


csv_fields = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["AB12CDE", "stolen", "1", "5", "intercept", "", "2031-01-01T00:00:00Z"]),
    st.integers(-10, 10).map(str),
)


@examples(ci=40, long=1500)
@given(
    rows=st.lists(st.lists(csv_fields, min_size=4, max_size=7), max_size=5),
    changes=st.booleans(),
)
def test_csv_rows_import_or_name_line_and_field(tmp_path, rows, changes):
    CASES["csv"] += 1
    path = tmp_path / "h.csv"
    head = (["op"] if changes else []) + CSV_COLUMNS
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([head, *rows])  # fields quoted as CSV needs
    try:
        (read_changes if changes else read_entries)(path)
    except CsvProblems as problems:
        assert problems.problems
        for problem in problems.problems:
            assert problem.startswith(f"{path}: line "), problem
            assert "field " in problem or "fields; the header has" in problem, problem


@examples(ci=25, long=800)
@given(data=st.binary(max_size=300))
def test_csv_random_bytes(tmp_path, data):
    CASES["csv"] += 1
    path = tmp_path / "h.csv"
    path.write_bytes(data)
    try:
        read_entries(path)
    except UserError as error:  # CsvProblems is a UserError too
        assert str(error).startswith(f"{path}:"), error
