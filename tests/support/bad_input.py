"""What the bad-input tests share: how many generated cases a test tries (a few in CI, many with
ANPR_EDGE_LONG_TESTS=1), the count of cases run per area, and JSON value strategies."""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("ANPR_EDGE_LONG_TESTS") == "1"
MB = 1024 * 1024


CASES: Counter[str] = Counter()  # generated cases run, by area


def examples(ci: int, long: int):
    return settings(
        deadline=None,
        max_examples=long if LONG else ci,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


def json_containers(children):
    return st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=8), children, max_size=4
    )


json_values = st.recursive(json_scalars, json_containers, max_leaves=12)
