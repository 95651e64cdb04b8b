"""The selftest's checks of what the unit runs on: models, camera, broker, clock.

Each check is a small function returning a `CheckResult`; it reports a failure in its result
rather than raising, so one broken part never hides the state of the others (see
`edge.ops.selftest`). Reasons name the file, address or key concerned, and never a secret.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edge.capture.sources import make_source
from edge.config import Config
from edge.errors import RuntimeFailure
from edge.mqtt import BrokerSettings, ConnackWaiter, make_client
from edge.ops.config_files import tls_problems
from edge.ops.credentials import UNIT_FILES, load_credentials, resolve
from edge.ops.feed import FrameFeed
from edge.records import Frame
from edge.times import rfc3339_now
from edge.tls_check import explain_tls_failure
from edge.unit.health import ClockState
from edge.updates.model_start import running_paths
from edge.uplink.connection import session_kept
from edge.vision.detector import Detector
from edge.vision.recogniser import Recogniser
from edge.vision.runtime import bundled_model

CAMERA_FRAMES = 3
BROKER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    reason: str
    skipped: bool = False  # not run (e.g. --skip-broker): neither a pass nor a failure

    def as_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "skipped": self.skipped, "reason": self.reason}


def passed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, True, reason)


def failed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, False, reason)


def check_model(config: Config, kind: str) -> CheckResult:
    """The model the unit runs (the model store's current version, else the configured or
    bundled one): loads (sha256 and input shape checked against the manifest by
    edge.vision.runtime) and runs once on a blank input: a badly converted model loads fine
    and returns NaN."""
    name = f"model {kind}"
    running = running_paths(config)  # a version from the centre, else the configured models
    configured = running.detector if kind == "detector" else running.recogniser
    path = Path(configured) if configured else bundled_model(kind)
    model = (
        Detector(path, 1, config.models.detector_threshold)
        if kind == "detector"
        else Recogniser(path)
    )
    manifest = model.model.manifest
    outputs = model.model.run(np.zeros(manifest.input_shape, np.dtype(manifest.input_dtype)))
    if not all(np.isfinite(out).all() for out in outputs):
        return failed(name, f"{path}: outputs NaN or infinity on a blank input: a broken model")
    shape = "×".join(str(v) for v in manifest.input_shape)
    return passed(
        name,
        f"{path}: {model.version}, sha256 and input {shape} {manifest.input_dtype} match its "
        "manifest; runs",
    )


def check_camera(config: Config) -> CheckResult:
    source = make_source(config)
    frames: list[Frame] = []
    started = time.monotonic()
    with FrameFeed(source, config.camera.capture_timeout_s) as feed:
        while len(frames) < CAMERA_FRAMES:
            frame = feed.next().frame
            if frame is None:
                break
            frames.append(frame)
        stalls = feed.stalls
    seconds = time.monotonic() - started
    if not frames:
        return failed("camera", f"{source.describe()}: delivered no frame")
    height, width = frames[-1].image.shape[:2]
    reason = f"{source.describe()}: {len(frames)} frames of {width}×{height} in {seconds:.1f} s"
    if stalls:
        return failed("camera", f"{reason}, but {stalls} read(s) timed out")
    return passed("camera", reason)


def check_broker(config: Config) -> CheckResult:
    """Connects as the unit does (edge.mqtt: TLS identity, credentials), and
    counts only a successful CONNACK: with TLS 1.3 a refused client certificate shows only
    after `connect()` has returned (../shared/NOTES.md)."""
    config = with_credential_sources(config)
    mqtt = config.mqtt
    scheme = "mqtts" if mqtt.tls.enabled else "mqtt"
    address = f"{scheme}://{mqtt.host}:{mqtt.port}"
    # Its own client id, so that on a broker that keeps client ids the running unit stays
    # connected. The centre's broker replaces it with the certificate's name, the unit's own
    # id: this connection then resumes the unit's session for a moment (the running unit is
    # disconnected and reconnects), so it must leave that session as it was: clean_start=False,
    # the unit's session expiry, nothing subscribed, nothing acknowledged (whatever the broker
    # sends meanwhile is sent again to the unit).
    settings = BrokerSettings.from_config(config, f"{config.mqtt_client_id}-selftest")
    settings = replace(
        settings, connect_timeout_s=min(settings.connect_timeout_s, BROKER_TIMEOUT_S)
    )
    unusable = [str(p) for p in tls_problems(config) if not p.warning]
    if unusable:
        return failed("broker", "; ".join(unusable))
    client = make_client(settings, manual_ack=True, persistent=True)
    waiter = ConnackWaiter()
    client.on_connect = waiter
    started = time.monotonic()
    try:
        client.connect(
            settings.host, settings.port, keepalive=settings.keepalive_s, **session_kept(settings)
        )
    except ssl.SSLCertVerificationError as exc:
        why = _explain(settings) or f"certificate verification failed ({exc.verify_message})"
        return failed("broker", f"{address}: {why}")
    except ssl.SSLError as exc:
        why = _explain(settings) or f"TLS handshake failed: {exc.reason or exc}"
        return failed("broker", f"{address}: {why}")
    except OSError as exc:
        why = exc.strerror or str(exc)
        return failed("broker", f"{address} (mqtt.host, mqtt.port): cannot connect: {why}")
    client.loop_start()
    try:
        waiter.wait(settings)
        seconds = time.monotonic() - started
    except RuntimeFailure as exc:
        # with TLS 1.3 a refused client certificate is only a missing CONNACK to paho
        reason = _explain(settings)
        return failed("broker", f"{address}: {reason}" if reason else str(exc))
    finally:
        client.disconnect()
        client.loop_stop()
    identity = (
        "TLS with the unit's client certificate"
        if mqtt.tls.cert
        else ("TLS" if mqtt.tls.enabled else "no TLS")
    )
    user = f", user {mqtt.username}" if mqtt.username else ""
    return passed("broker", f"{address}: connected in {seconds:.2f} s ({identity}{user})")


def with_credential_sources(config: Config, unit_files=UNIT_FILES) -> Config:
    """`config` with TLS files that are systemd credentials read from their sources (see
    edge.ops.credentials) when the service is not there to hand them over."""
    tls, sources = config.mqtt.tls, load_credentials(unit_files)
    paths = {key: resolve(getattr(tls, key), sources) for key in ("ca", "cert", "key")}
    if all(paths[key] == getattr(tls, key) for key in paths):
        return config
    mqtt = config.mqtt.model_copy(update={"tls": tls.model_copy(update=paths)})
    return config.model_copy(update={"mqtt": mqtt})


def _explain(settings: BrokerSettings) -> str | None:
    """Why the TLS handshake fails (edge.tls_check), or None: not TLS, or the handshake works."""
    if not settings.tls:
        return None
    return explain_tls_failure(
        settings.host,
        settings.port,
        settings.ca,
        settings.cert,
        settings.key,
        settings.key_passphrase,
        BROKER_TIMEOUT_S,
    )


def check_clock(clock: ClockState | None = None) -> CheckResult:
    now = rfc3339_now()
    if (clock or ClockState())():
        return passed("clock", f"synchronised (now {now})")
    return failed(
        "clock",
        f"not synchronised (now {now}): the kernel reports no time source has set it, so reads "
        "would carry untrusted times; check NTP (timedatectl timesync-status)",
    )
