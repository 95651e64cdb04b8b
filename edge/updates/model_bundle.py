"""The signed model bundle: new models with their manifests and the golden images they must
read, made by the centre (`anpr-edge model sign`) and checked by the unit.

Envelope: edge.envelope with schema `anpr.model-bundle/1`, signed by a key of
`models.trusted_keys`. Payload (the signed bytes, JSON, never compressed: .tflite files hardly
shrink):

```
{"schema": "anpr.model-payload/1", "version": 7, "min_software": "0.1.0",
 "issued_at": "2026-12-03T19:00:00Z", "models": ["recogniser"],
 "files": [{"name": "recogniser.tflite", "bytes": 413752, "sha256": "…", "data": "<base64>"},
           {"name": "recogniser.json", …}, {"name": "golden/labels.csv", …}, …]}
```

A role (`detector`, `recogniser`) ships as `<role>.tflite` with its manifest `<role>.json`
(DESIGN §5), whose `sha256` and `kind` must agree with the file; a role left out keeps the
unit's current model. `golden/` is a labelled dataset (DESIGN §1) whose plates the new models
must read exactly before the unit switches to them. Every file is listed with its size and
sha256: a file shorter than listed is `truncated`, any other difference `manifest-mismatch`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from edge import __version__
from edge.envelope import EnvelopeRejected, EnvelopeRules, exact_keys, open_signed, wrap_signed
from edge.errors import UserError
from edge.hotlist.signing import PublicKey, SigningKey
from edge.updates.reasons import Reason, UpdateRejected

BUNDLE_SCHEMA = "anpr.model-bundle/1"
PAYLOAD_SCHEMA = "anpr.model-payload/1"
ROLES = ("detector", "recogniser")
GOLDEN_LABELS = "golden/labels.csv"
MAX_VERSION = 2**53 - 1
PAYLOAD_KEYS = frozenset({"schema", "version", "min_software", "issued_at", "models", "files"})
FILE_KEYS = frozenset({"name", "bytes", "sha256", "data"})
# one folder level at most, no "..", no hidden files: names become paths under a version folder
FILE_NAME = re.compile(r"(golden/)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
SOFTWARE_VERSION = re.compile(r"\d{1,6}(\.\d{1,6}){0,3}")


@dataclass(frozen=True)
class ModelBundle:
    """What a verified model bundle holds (its files are staged by edge.updates.model_store),
    before any of it runs on the unit."""

    version: int
    min_software: str
    issued_at: str
    key_id: str
    roles: tuple[str, ...]  # the models it replaces, in ROLES order
    files: dict[str, bytes] = field(compare=False, repr=False)  # name → content, checked

    @property
    def golden_files(self) -> dict[str, bytes]:
        return {name: data for name, data in self.files.items() if name.startswith("golden/")}


def model_rules(max_payload_bytes: int) -> EnvelopeRules:
    return EnvelopeRules(
        BUNDLE_SCHEMA, max_payload_bytes, "models.trusted_keys", "models.max_bundle_mb"
    )


def software_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


# --- the centre's side ----------------------------------------------------------------------


def build_payload(
    version: int,
    models: dict[str, Path],
    golden: Path,
    *,
    issued_at: str,
    min_software: str = __version__,
) -> bytes:
    """The payload of a bundle of `models` (role → .tflite beside its manifest) and the
    labelled dataset folder `golden`. Raises UserError naming a missing or unusable input."""
    if not 1 <= version <= MAX_VERSION:
        raise UserError(f"--version {version}: expected 1 … {MAX_VERSION}")
    if not SOFTWARE_VERSION.fullmatch(min_software):
        raise UserError(f"--min-software {min_software!r}: expected a version such as 0.1.0")
    unknown = sorted(set(models) - set(ROLES))
    if unknown or not models:
        raise UserError(f"models: expected one or both of {', '.join(ROLES)}; got {unknown}")
    files: dict[str, bytes] = {}
    for role in ROLES:
        if role in models:
            model = Path(models[role])
            files[f"{role}.tflite"] = _read(model)
            files[f"{role}.json"] = _read(model.with_suffix(".json"))
    labels = golden / "labels.csv"
    files[GOLDEN_LABELS] = _read(labels)
    for image in sorted(golden.iterdir()):
        if image.is_file() and image.name != "labels.csv":
            files[f"golden/{image.name}"] = _read(image)
    payload = {
        "schema": PAYLOAD_SCHEMA,
        "version": version,
        "min_software": min_software,
        "issued_at": issued_at,
        "models": [role for role in ROLES if role in models],
        "files": [
            {
                "name": name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "data": base64.b64encode(data).decode("ascii"),
            }
            for name, data in files.items()
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


def seal_models(payload: bytes, key: SigningKey) -> bytes:
    return wrap_signed(payload, key, "none", BUNDLE_SCHEMA)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None


# --- the unit's side ------------------------------------------------------------------------


def open_model_bundle(
    data: bytes, trusted: dict[str, PublicKey], max_payload_bytes: int
) -> ModelBundle:
    """Every check that needs no model loaded: envelope, signature, payload shape, software
    version, each file's size and sha256, manifests against their models. Raises
    UpdateRejected; writes nothing."""
    try:
        signed = open_signed(data, trusted, model_rules(max_payload_bytes))
        if signed.compression != "none":
            raise EnvelopeRejected("malformed", "envelope.compression: expected 'none'")
        payload = _payload_object(signed.payload)
    except EnvelopeRejected as rejected:
        raise UpdateRejected.from_envelope(rejected) from None
    version = payload["version"]
    if payload["min_software"] and software_tuple(payload["min_software"]) > software_tuple(
        __version__
    ):
        raise UpdateRejected(
            Reason.SOFTWARE_TOO_OLD,
            f"v{version} needs anpr-edge {payload['min_software']} or later; this unit runs "
            f"{__version__}",
            version,
        )
    files = _files(payload["files"], version)
    roles = tuple(role for role in ROLES if role in payload["models"])
    for role in roles:
        _check_manifest(role, files, version)
    if GOLDEN_LABELS not in files or len([n for n in files if n.startswith("golden/")]) < 2:
        raise UpdateRejected(
            Reason.MALFORMED, f"v{version}: no golden images (golden/labels.csv and images)"
        )
    return ModelBundle(
        version, payload["min_software"], payload["issued_at"], signed.key_id, roles, files
    )


def _payload_object(payload: bytes) -> dict:
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeRejected("malformed", f"payload: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise EnvelopeRejected("malformed", "payload: expected a JSON object")
    exact_keys(body, PAYLOAD_KEYS, "payload")
    if body["schema"] != PAYLOAD_SCHEMA:
        raise EnvelopeRejected(
            "malformed", f"payload.schema: got {body['schema']!r}; expected {PAYLOAD_SCHEMA!r}"
        )
    if type(body["version"]) is not int:
        raise EnvelopeRejected("wrong-type", "payload.version: expected an integer")
    if not 1 <= body["version"] <= MAX_VERSION:
        raise EnvelopeRejected("malformed", f"payload.version: {body['version']} out of range")
    for key in ("min_software", "issued_at"):
        if not isinstance(body[key], str):
            raise EnvelopeRejected("wrong-type", f"payload.{key}: expected a string")
    if not SOFTWARE_VERSION.fullmatch(body["min_software"]):
        raise EnvelopeRejected("malformed", "payload.min_software: expected a version: 0.1.0")
    models = body["models"]
    if not isinstance(models, list) or not isinstance(body["files"], list):
        raise EnvelopeRejected("wrong-type", "payload.models and payload.files: expected lists")
    if not models or any(role not in ROLES for role in models) or len(set(models)) != len(models):
        raise EnvelopeRejected("malformed", f"payload.models: expected roles among {ROLES}")
    return body


def _files(listed: list, version: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for i, entry in enumerate(listed):
        where = f"payload.files[{i}]"
        try:
            if not isinstance(entry, dict):
                raise EnvelopeRejected("wrong-type", f"{where}: expected an object")
            exact_keys(entry, FILE_KEYS, where)
            name, size, digest, text = (entry[k] for k in ("name", "bytes", "sha256", "data"))
            if not (isinstance(name, str) and isinstance(digest, str) and isinstance(text, str)):
                raise EnvelopeRejected("wrong-type", f"{where}: name, sha256, data: strings")
            if type(size) is not int:
                raise EnvelopeRejected("wrong-type", f"{where}.bytes: expected an integer")
            if not FILE_NAME.fullmatch(name) or name in files:
                raise EnvelopeRejected("malformed", f"{where}.name: {name!r} not allowed here")
            data = base64.b64decode(text, validate=True)
        except EnvelopeRejected as rejected:
            raise UpdateRejected(Reason(rejected.code), rejected.detail, version) from None
        except (binascii.Error, ValueError):
            raise UpdateRejected(Reason.MALFORMED, f"{where}.data: not base64", version) from None
        if len(data) < size:
            raise UpdateRejected(
                Reason.TRUNCATED, f"{name}: {len(data)} bytes of the {size} listed", version
            )
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            raise UpdateRejected(
                Reason.MANIFEST_MISMATCH,
                f"{name}: {len(data)} bytes, sha256 "
                f"{hashlib.sha256(data).hexdigest()[:12]}…; listed {size} bytes, {digest[:12]}…",
                version,
            )
        files[name] = data
    return files


def _check_manifest(role: str, files: dict[str, bytes], version: int) -> None:
    model, manifest_name = f"{role}.tflite", f"{role}.json"
    if model not in files or manifest_name not in files:
        raise UpdateRejected(
            Reason.MALFORMED, f"v{version}: {role} needs {model} and {manifest_name}", version
        )
    try:
        manifest = json.loads(files[manifest_name])
        declared, kind = manifest["sha256"], manifest.get("kind")
    except (ValueError, KeyError, TypeError):
        raise UpdateRejected(
            Reason.MANIFEST_MISMATCH, f"{manifest_name}: not a model manifest", version
        ) from None
    actual = hashlib.sha256(files[model]).hexdigest()
    if declared != actual or kind != role:
        raise UpdateRejected(
            Reason.MANIFEST_MISMATCH,
            f"{manifest_name} describes a {kind!r} model with sha256 {str(declared)[:12]}…; "
            f"{model} is {actual[:12]}… in the {role}'s slot",
            version,
        )
