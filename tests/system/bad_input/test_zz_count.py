"""Last in the folder (files run in name order): the generated cases run per area."""

from __future__ import annotations

from tests.support.bad_input import CASES, LONG


def test_zz_count_of_generated_cases():
    """Last in the folder: print the cases run per area (and check the long run's total)."""
    total = sum(CASES.values())
    print(f"\nbad-input cases ({'long' if LONG else 'CI'} mode): {total} in all")
    for area, count in sorted(CASES.items()):
        print(f"  {area}: {count}")
    if LONG and len(CASES) >= 10:  # the whole folder ran
        assert total >= 10_000, total
