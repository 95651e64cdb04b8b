"""Why a model or configuration update was refused or undone: one stable code per rule, used
in logs, health counters, the command result topic and `anpr-edge model … --json` (`reason`).

The envelope's codes are shared with hotlists (edge.envelope); a replayed or older version is
`stale-version`, as for hotlists.
"""

from __future__ import annotations

from enum import StrEnum

from edge.envelope import EnvelopeRejected
from edge.errors import UserError


class Reason(StrEnum):
    OVERSIZED = "oversized"  # larger than models.max_bundle_mb
    TRUNCATED = "truncated"  # the bundle ends mid-document, or a file is shorter than listed
    MALFORMED = "malformed"  # not the format
    WRONG_TYPE = "wrong-type"  # a field holds a value of the wrong JSON type
    UNKNOWN_KEY = "unknown-key"  # signed by a key not in the trust list
    BAD_SIGNATURE = "bad-signature"  # a trusted key id, but the signature does not match
    STALE_VERSION = "stale-version"  # version ≤ the highest seen: a replay or a rollback
    SOFTWARE_TOO_OLD = "software-too-old"  # the bundle needs a newer anpr-edge
    MANIFEST_MISMATCH = "manifest-mismatch"  # a file's sha256 or size is not what is listed
    LOAD_FAILED = "load-failed"  # a model does not load (not TFLite, wrong input, …)
    GOLDEN_FAILED = "golden-failed"  # the golden images were not read as expected
    DEGRADED = "degraded"  # read rate or confidence fell on trial: switched back
    NOT_ALLOWED = "not-allowed"  # a configuration key that may not be changed remotely
    START_FAILED = "start-failed"  # the unit did not run on a new configuration: undone
    INVALID_CONFIG = "invalid-config"  # the merged configuration fails the schema


class UpdateRejected(UserError):
    """An update was refused (or undone) and the running version kept. `reason` is the code,
    `detail` says exactly what; `version` is the bundle's when it was read."""

    def __init__(self, reason: Reason, detail: str, version: int | None = None):
        super().__init__(f"update rejected ({reason}): {detail}")
        self.reason, self.detail, self.version = reason, detail, version

    @classmethod
    def from_envelope(cls, rejected: EnvelopeRejected) -> UpdateRejected:
        return cls(Reason(rejected.code), rejected.detail)
