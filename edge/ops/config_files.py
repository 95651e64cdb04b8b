"""The files a configuration names, checked: models and their manifests, the TLS files, the
hotlist trusted keys (`anpr-edge config check`, and the TLS part at the start of `run`).

A config that parses can still name a model that is not there or a TLS key that is a
certificate; the unit would then stop at start with a less helpful error, or (TLS) retry a
broker it can never reach. Each problem is one line naming the config key and the path.
TLS files that are systemd credentials (`/run/credentials/…`, present only inside the running
service) are looked for at their `LoadCredential=` source when the service is not running, as
`anpr-edge selftest` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.config import Config, load_secrets
from edge.errors import UserError
from edge.hotlist.signing import load_public_key
from edge.ops.credentials import UNIT_FILES, load_credentials, resolve
from edge.tls_check import TlsFileProblem, check_tls_files
from edge.vision.runtime import bundled_model, manifest_path


@dataclass(frozen=True)
class FileProblem:
    key: str
    message: str  # "models.detector: /opt/…/detector.tflite: no such file"
    warning: bool = False

    def __str__(self) -> str:
        return self.message


def tls_problems(
    config: Config, *, credential_sources: bool = False, unit_files=UNIT_FILES
) -> list[TlsFileProblem]:
    """`check_tls_files` on `mqtt.tls`, with the configured key passphrase; none without TLS.
    `credential_sources`: a missing systemd credential is looked for at its source."""
    tls = config.mqtt.tls
    if not tls.enabled:
        return []
    paths = {name: getattr(tls, name) for name in ("ca", "cert", "key")}
    if credential_sources:
        sources = load_credentials(unit_files)
        paths = {name: resolve(path, sources) for name, path in paths.items()}
    secret = load_secrets()["mqtt_key_passphrase"].value
    passphrase = secret.get_secret_value() if secret else None
    return check_tls_files(paths["ca"], paths["cert"], paths["key"], passphrase)


def model_problems(config: Config) -> list[FileProblem]:
    problems = []
    for kind in ("detector", "recogniser"):
        configured = getattr(config.models, kind)
        key = f"models.{kind}" + ("" if configured else " (the bundled model)")
        model = Path(configured) if configured else bundled_model(kind)
        for path, what in ((model, "model"), (manifest_path(model), "manifest")):
            reason = _unreadable(path)
            if reason:
                beside = f" (the {what} of {model.name}, beside it)" if what == "manifest" else ""
                problems.append(FileProblem(key, f"{key}: {path}: {reason}{beside}"))
    return problems


def key_problems(config: Config) -> list[FileProblem]:
    """Every trust list's keys: hotlists, model updates, remote configuration."""
    problems = []
    for setting, paths in (
        ("hotlist.trusted_keys", config.hotlist.trusted_keys),
        ("models.trusted_keys", config.models.trusted_keys),
        ("remote_config.trusted_keys", config.remote_config.trusted_keys),
    ):
        for i, path in enumerate(paths):
            key = f"{setting}[{i}]"
            try:
                load_public_key(Path(path), key)
            except UserError as exc:
                problems.append(FileProblem(key, str(exc)))
    return problems


def file_problems(config: Config, *, unit_files=UNIT_FILES) -> list[FileProblem]:
    """Every problem with the files `config` names; warnings (a readable TLS key) last."""
    tls = [
        FileProblem(p.key, p.message, p.warning)
        for p in tls_problems(config, credential_sources=True, unit_files=unit_files)
    ]
    found = model_problems(config) + tls + key_problems(config)
    return sorted(found, key=lambda p: p.warning)


def _unreadable(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            file.read(1)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "is a folder, not a file"
    except PermissionError:
        return "cannot read it (permission denied): run as the service's user or with sudo"
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    return None
