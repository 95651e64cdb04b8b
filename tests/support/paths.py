"""Where the tests find the repository and the datasets beside the checkout."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
REAL_DEV = SHARED / "datasets" / "real-dev"
