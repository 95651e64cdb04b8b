"""The unit's configuration schema: one typed, frozen tree loaded from TOML.

Unknown keys are errors (`extra="forbid"`) and types are strict (a port written as "8883" is
wrong, not silently converted), so a typo at the roadside is caught by `config check` rather than
ignored for years. Defaults suit a Raspberry Pi 5 with the global-shutter camera (IMX296,
1456×1088) watching one lane. Secrets are not part of the schema: see `edge.config.secrets`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Paths are written as TOML strings; the rest of the schema is strict.
PathValue = Annotated[Path, Field(strict=False)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ImageSide = Annotated[int, Field(ge=64, le=8192)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Location(Section):
    lat: Annotated[float, Field(ge=-90.0, le=90.0)]
    lon: Annotated[float, Field(ge=-180.0, le=180.0)]


class UnitSection(Section):
    id: Identifier  # appears in MQTT topics: units/{id}/...
    site: str = ""
    camera_id: Identifier = "cam1"
    location: Location | None = None
    # Which way traffic in view travels relative to the camera when no track says otherwise.
    direction_hint: Literal["towards", "away", "both"] = "both"


class CameraSection(Section):
    source: Literal["picamera2", "opencv", "images", "synthetic"] = "picamera2"
    # opencv: RTSP URL, V4L2 device (/dev/video0) or video file; images: a folder.
    uri: str = ""
    camera_num: Annotated[int, Field(ge=0, le=7)] = 0
    resolution: Annotated[tuple[ImageSide, ImageSide], Field(strict=False)] = (1456, 1088)
    fps: Annotated[float, Field(gt=0.0, le=120.0)] = 30.0
    # Short fixed exposure freezes motion at speed; plates are retro-reflective under IR.
    exposure_us: Annotated[int, Field(ge=10, le=100_000)] = 800
    analogue_gain: Annotated[float, Field(ge=1.0, le=16.0)] = 4.0
    # Region of interest in sensor pixels: x, y, w, h. Empty means the whole frame.
    roi: Annotated[tuple[int, int, int, int] | None, Field(strict=False)] = None
    capture_timeout_s: Annotated[float, Field(gt=0.0, le=60.0)] = 2.0
    # Synthetic road: deterministic by seed; the look of the scene.
    seed: Annotated[int, Field(ge=0)] = 1
    look: Literal["day", "ir", "night", "mixed"] = "ir"

    @model_validator(mode="after")
    def _check_geometry(self) -> CameraSection:
        width, height = self.resolution
        if self.roi is not None:
            x, y, w, h = self.roi
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
                raise ValueError(
                    f"roi {list(self.roi)} must lie inside resolution {width}x{height}"
                )
        if self.source in ("opencv", "images") and not self.uri:
            raise ValueError(f"camera.uri is required when camera.source = {self.source!r}")
        return self


class ModelsSection(Section):
    # Empty means the models bundled with the package.
    detector: PathValue | None = None
    recogniser: PathValue | None = None
    detector_threshold: Fraction = 0.3
    recogniser_min_confidence: Fraction = 0.5
    threads: Annotated[int, Field(ge=1, le=8)] = 2
    # Signed model updates over MQTT (edge.updates): the centre's Ed25519 public keys for
    # model bundles, a trust list of their own (never the hotlist keys). Empty: no remote model
    # updates; otherwise at least two, so the centre can rotate its key without a site visit.
    trusted_keys: list[PathValue] = []
    # The fleet or unit group whose retained bundle this unit takes:
    # {prefix}/models/{group}/bundle.
    group: Identifier = "all"
    # Where versions are staged (versions/<n>/) and the state file kept; default: a "models"
    # folder beside storage.path.
    store_dir: PathValue | None = None
    max_bundle_mb: Annotated[int, Field(ge=1, le=1024)] = 64
    # After a switch the new models are on trial for this long: if the read rate (reads per
    # frame) or the mean confidence of the plates read in single frames falls below
    # trial_min_fraction of the previous version's over the same length of time before the
    # switch, the unit switches back.
    trial_window_s: Annotated[float, Field(ge=1.0, le=86_400.0)] = 900.0
    trial_min_fraction: Fraction = 0.8
    # Fewer reads than this before the switch are too few to compare: the trial then passes.
    trial_min_reads: Annotated[int, Field(ge=1, le=100_000)] = 10

    @model_validator(mode="after")
    def _check_update_keys(self) -> ModelsSection:
        _check_update_keys(self.trusted_keys, "models.trusted_keys", "model")
        return self


def _check_update_keys(paths: list[Path], setting: str, what: str) -> None:
    """An update trust list: empty (remote updates off) or at least two different keys."""
    seen = [str(path) for path in paths]
    if len(seen) == 1:
        raise ValueError(
            f"{setting}: at least two keys (so the centre can rotate its key), or none to turn "
            f"remote {what} updates off"
        )
    for i, path in enumerate(seen):
        if path in seen[:i]:
            raise ValueError(
                f"{setting}[{i}] repeats [{seen.index(path)}] ({path}): key rotation needs two "
                "different keys"
            )


class RecognitionSection(Section):
    region: Literal["gb", "any"] = "gb"
    # A hit is raised once this many frames of one track agree on the plate.
    hit_min_frames: Annotated[int, Field(ge=1, le=30)] = 3
    # A track ends when unseen for this long, or at the latest after max_track_s.
    track_gap_s: Annotated[float, Field(gt=0.0, le=10.0)] = 0.6
    max_track_s: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    motion_gating: bool = True
    # A vehicle's voted plate below this confidence is not reported at all (a fragment or a
    # sign, not a plate); between it and models.recogniser_min_confidence it is a read that
    # never raises a hit.
    min_read_confidence: Fraction = 0.1


class HotlistSection(Section):
    lists: Annotated[list[Identifier], Field(min_length=0)] = ["national"]
    # At least two, so the centre can rotate its signing key without a site visit.
    trusted_keys: Annotated[list[PathValue], Field(min_length=2)]
    fuzzy: bool = True
    fuzzy_max_distance: Annotated[int, Field(ge=0, le=2)] = 1
    # Which substitutions a fuzzy match may make: only known OCR confusions (O/0, I/1, S/5 …)
    # or any character. "any" multiplies false hits (see `anpr-edge bench hotlist`).
    fuzzy_substitutions: Literal["confusions", "any"] = "confusions"
    # Characters the recogniser read at or above this confidence are not edited by a fuzzy
    # match (1.0: any may be). Cuts false fuzzy hits by an order of magnitude.
    fuzzy_sure_confidence: Annotated[float, Field(gt=0.0, le=1.0)] = 0.99
    max_bundle_mb: Annotated[int, Field(ge=1, le=4096)] = 512

    @model_validator(mode="after")
    def _check_distinct_keys(self) -> HotlistSection:
        seen = [str(path) for path in self.trusted_keys]
        for i, path in enumerate(seen):
            if path in seen[:i]:
                raise ValueError(
                    f"hotlist.trusted_keys[{i}] repeats [{seen.index(path)}] ({path}): "
                    "key rotation needs two different keys"
                )
        return self


class TlsSection(Section):
    enabled: bool = True
    ca: PathValue | None = None
    cert: PathValue | None = None
    key: PathValue | None = None

    @model_validator(mode="after")
    def _check_files(self) -> TlsSection:
        if self.enabled and self.ca is None:
            raise ValueError("mqtt.tls.ca is required when TLS is enabled")
        if (self.cert is None) != (self.key is None):
            raise ValueError("mqtt.tls.cert and mqtt.tls.key must be given together")
        return self


class MqttSection(Section):
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 8883
    tls: TlsSection = TlsSection(enabled=False)
    # empty: unit.id, the CN of the unit's certificate, which the centre's broker uses as the
    # client id whatever the unit sends (use_username_as_clientid, docs/security.md)
    client_id: str = ""
    username: str = ""  # the password is a secret: never in this file
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")] = "anpr/v1"
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    connect_timeout_s: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    # MQTT 5 unless the force's broker can do no better (DESIGN §3): "3.1.1" keeps QoS 1,
    # retained status, the last will and persistent sessions, and loses MQTT 5's reason codes
    # and per-message properties.
    protocol: Literal["5", "3.1.1"] = "5"


class StorageSection(Section):
    path: PathValue = Path("/var/lib/anpr-edge/anpr.db")
    # The hotlists' own SQLite file (default: hotlists.db beside `path`), so that applying a
    # national list never holds the lock the reads are written under.
    hotlist_path: PathValue | None = None
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 31
    quota_mb: Annotated[int, Field(ge=16, le=1_000_000)] = 4096
    # Below this much free space on the store's file system, delivered reads are evicted so
    # that new ones reuse their room instead of growing the file.
    min_free_mb: Annotated[int, Field(ge=0, le=1_000_000)] = 256
    keep_overview: bool = False

    @property
    def hotlist_file(self) -> Path:
        return self.hotlist_path or self.path.with_name("hotlists.db")


class HealthSection(Section):
    interval_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 60.0
    # Written by the running service for `anpr-edge status`.
    status_file: PathValue = Path("/run/anpr-edge/status.json")


class LiveSection(Section):
    """The live aiming page served by the running unit (edge.live). Off unless enabled here or
    opened for `session_s` by `anpr-edge camera live`; every request needs its token."""

    enabled: bool = False
    # Loopback only by default: the page shows plates. An interface's own address (or 0.0.0.0)
    # opens it to that network; reach a loopback page through `ssh -L` instead where possible.
    bind: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1024, le=65535)] = 8480
    # Frames a second the page is sent at most (each costs the pipeline an annotation and a JPEG).
    max_fps: Annotated[float, Field(ge=1.0, le=15.0)] = 6.0
    # How long `anpr-edge camera live` opens the page for when it is not enabled here.
    session_s: Annotated[float, Field(ge=30.0, le=86_400.0)] = 900.0

    @field_validator("bind")
    @classmethod
    def _check_bind(cls, bind: str) -> str:
        try:
            ipaddress.ip_address(bind)
        except ValueError:
            raise ValueError(
                f"got {bind!r}; expected an IP address (127.0.0.1, or an address of one of the "
                "unit's own interfaces)"
            ) from None
        return bind


class LoggingSection(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class RemoteConfigSection(Section):
    # Signed partial configurations from the centre (edge.updates.config_update), with a trust
    # list of their own: empty turns them off; otherwise at least two keys.
    trusted_keys: list[PathValue] = []
    # The fleet or unit group whose retained bundle this unit takes:
    # {prefix}/config/{group}/bundle.
    group: Identifier = "all"
    # A new configuration is applied by restarting the service (systemd starts it again); it
    # becomes the last good one once the unit has run this long on it. A start that fails or
    # a crash before then brings the last good one back.
    confirm_after_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 60.0

    @model_validator(mode="after")
    def _check_keys(self) -> RemoteConfigSection:
        _check_update_keys(self.trusted_keys, "remote_config.trusted_keys", "configuration")
        return self


# What a signed partial configuration may change: tuning only. Never the unit's identity, the
# broker's address, a path, TLS material or a trust list (a stolen centre key must not be able
# to point a unit elsewhere or make it trust another key); the file on the unit decides those.
REMOTE_KEYS = frozenset(
    {
        "camera.fps",
        "camera.exposure_us",
        "camera.analogue_gain",
        "camera.roi",
        "models.detector_threshold",
        "models.recogniser_min_confidence",
        "models.trial_window_s",
        "models.trial_min_fraction",
        "models.trial_min_reads",
        "recognition.hit_min_frames",
        "recognition.track_gap_s",
        "recognition.max_track_s",
        "recognition.motion_gating",
        "recognition.min_read_confidence",
        "hotlist.lists",
        "hotlist.fuzzy",
        "hotlist.fuzzy_max_distance",
        "hotlist.fuzzy_substitutions",
        "hotlist.fuzzy_sure_confidence",
        "storage.retention_days",
        "storage.keep_overview",
        "health.interval_s",
        "logging.level",
    }
)


class Config(Section):
    unit: UnitSection
    camera: CameraSection = CameraSection()
    models: ModelsSection = ModelsSection()
    recognition: RecognitionSection = RecognitionSection()
    hotlist: HotlistSection
    mqtt: MqttSection
    storage: StorageSection = StorageSection()
    health: HealthSection = HealthSection()
    live: LiveSection = LiveSection()
    logging: LoggingSection = LoggingSection()
    remote_config: RemoteConfigSection = RemoteConfigSection()

    @property
    def mqtt_client_id(self) -> str:
        return self.mqtt.client_id or self.unit.id

    @property
    def model_store_dir(self) -> Path:
        """Where model updates are staged (models.store_dir, else beside the store)."""
        return self.models.store_dir or self.storage.path.with_name("models")

    @property
    def remote_config_dir(self) -> Path:
        """Where signed partial configurations are kept (beside the store)."""
        return self.storage.path.with_name("remote-config")
