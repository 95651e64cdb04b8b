"""Helpers for the model update tests (no tests here): a centre with its own model keys that
signs real bundles of the real bundled models, golden images the bundled models read, and
"bad" models made from the real ones.

- a good new version: the bundled files re-signed under a higher version;
- a model that reads wrong: the bundled recogniser with the output scale of its last
  convolution cut to 1/20 (the int8 values saturate: valid TFLite, wrong text);
- a degraded one: the scale of the model's output (dequantisation only) at 0.15: the same text
  (its golden images pass), but probabilities so flat that a single frame's read has a mean
  confidence of 0.04 instead of 0.99 and most reads fall below `min_read_confidence`;
- one that does not load: the recogniser cut in half, its manifest's sha256 made to match.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
from pathlib import Path

from edge.hotlist.signing import generate_keypair, load_signing_key
from edge.synth.generate import generate_dataset
from edge.updates.model_bundle import build_payload, seal_models
from edge.vision.runtime import bundled_model

ISSUED = "2026-12-03T12:00:00Z"
GOLDEN_SEED, GOLDEN_COUNT = 5, 8  # day scenes whose UK plates the bundled models all read


def golden_images(folder: Path) -> Path:
    """A small labelled set of synthetic day scenes (728×544, plates 30–50 px high)."""
    if not (folder / "labels.csv").exists():
        generate_dataset(
            folder,
            GOLDEN_COUNT,
            GOLDEN_SEED,
            look="day",
            region="gb",
            size=(728, 544),
            plate_height=(30, 50),
        )
    return folder


def model_copy(folder: Path, role: str) -> Path:
    """The bundled model of `role` and its manifest, copied into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    source = bundled_model(role)
    shutil.copy(source, folder / source.name)
    shutil.copy(source.with_suffix(".json"), folder / source.with_suffix(".json").name)
    return folder / source.name


def _rewrite(model: Path, data: bytes, **manifest_changes) -> Path:
    model.write_bytes(data)
    manifest = json.loads(model.with_suffix(".json").read_text())
    manifest.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), **manifest_changes)
    model.with_suffix(".json").write_text(json.dumps(manifest, indent=2))
    return model


def scaled_recogniser(folder: Path, factor: float, occurrences: tuple[int, ...]) -> Path:
    """The recogniser with its output quantisation scale multiplied by `factor` where it
    occurs in the flatbuffer (0: the model's output, read only when dequantised; 1: the last
    convolution's output, which it requantises to)."""
    model = model_copy(folder, "recogniser")
    data = bytearray(model.read_bytes())
    scale = json.loads(model.with_suffix(".json").read_text())["outputs"][0]["scale"]
    packed = struct.pack("<f", scale)
    offsets = [i for i in range(len(data)) if data.startswith(packed, i)]
    for index in occurrences:
        offset = offsets[index]
        data[offset : offset + 4] = struct.pack("<f", scale * factor)
    return _rewrite(model, bytes(data), version="9.9.9-test")


def misreading_recogniser(folder: Path) -> Path:
    return scaled_recogniser(folder, 0.05, (1,))


def degraded_recogniser(folder: Path) -> Path:
    return scaled_recogniser(folder, 0.15, (0,))


def mislabelled_recogniser(folder: Path) -> Path:
    """The recogniser with a manifest whose sha256 is not the file's."""
    model = model_copy(folder, "recogniser")
    manifest = json.loads(model.with_suffix(".json").read_text())
    manifest["sha256"] = "0" * 64
    model.with_suffix(".json").write_text(json.dumps(manifest))
    return model


def detector_as_recogniser(folder: Path) -> Path:
    """The other model of the pair in the recogniser's slot (its own manifest with it)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(bundled_model("detector"), folder / "recogniser.tflite")
    shutil.copy(bundled_model("detector").with_suffix(".json"), folder / "recogniser.json")
    return folder / "recogniser.tflite"


def unloadable_recogniser(folder: Path) -> Path:
    model = model_copy(folder, "recogniser")
    return _rewrite(model, model.read_bytes()[: model.stat().st_size // 2])


class ModelCentre:
    """Model signing keys a and b (trusted by the unit), rogue (not), and the golden set."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.keys, self.public = {}, {}
        for name in ("a", "b", "rogue"):
            _, private, public = generate_keypair(folder / "model-keys", f"models-{name}")
            self.keys[name] = load_signing_key(private)
            self.public[name] = public
        self.golden = golden_images(folder / "golden")

    @property
    def trusted_paths(self) -> list[Path]:
        return [self.public["a"], self.public["b"]]

    def config_lines(self, **settings) -> str:
        """A `[models]` table trusting keys a and b, with `settings` (TOML values)."""
        lines = [f"trusted_keys = {json.dumps([str(p) for p in self.trusted_paths])}"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        return "[models]\n" + "\n".join(lines) + "\n"

    def bundle(
        self,
        version: int,
        *,
        detector: Path | None = None,
        recogniser: Path | None = None,
        roles: tuple[str, ...] = ("detector", "recogniser"),
        key: str = "a",
        min_software: str = "0.1.0",
        golden: Path | None = None,
    ) -> bytes:
        """A signed bundle; a role without a file given carries the bundled model."""
        given = {"detector": detector, "recogniser": recogniser}
        models = {role: given[role] or bundled_model(role) for role in roles}
        payload = build_payload(
            version,
            models,
            golden or self.golden,
            issued_at=ISSUED,
            min_software=min_software,
        )
        return seal_models(payload, self.keys[key])


def tampered(bundle: bytes) -> bytes:
    """One byte of the signed payload changed, the signature left as it was."""
    envelope = json.loads(bundle)
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[len(payload) // 2] ^= 0x01
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    return json.dumps(envelope).encode()
