"""Technician commands read systemd credentials from the sources the installed unit names."""

from __future__ import annotations

from pathlib import Path

from edge.config import load_config
from edge.ops.checks import with_credential_sources
from edge.ops.credentials import load_credentials
from tests.support.unit import unit_config

RUN = "/run/credentials/anpr-edge.service"


def unit_files(tmp_path: Path) -> tuple[Path, Path]:
    unit = tmp_path / "anpr-edge.service"
    unit.write_text(
        "[Service]\n"
        f"LoadCredential=mqtt-ca.crt:{tmp_path}/tls/force-ca.crt\n"
        f"LoadCredential=mqtt-client.crt:{tmp_path}/tls/old.crt\n"
    )
    dropins = tmp_path / "anpr-edge.service.d"
    dropins.mkdir()
    # a drop-in overrides the unit (the installer writes one for optional secrets)
    (dropins / "credentials.conf").write_text(
        f"[Service]\nLoadCredential=mqtt-client.crt:{tmp_path}/tls/unit.crt\n"
    )
    return unit, dropins


def test_unit_file_and_drop_ins_name_the_sources(tmp_path):
    sources = load_credentials(unit_files(tmp_path))
    assert sources == {
        "mqtt-ca.crt": tmp_path / "tls" / "force-ca.crt",
        "mqtt-client.crt": tmp_path / "tls" / "unit.crt",
    }
    assert load_credentials([tmp_path / "absent.service"]) == {}


def test_credential_paths_are_read_from_their_sources_and_others_kept(tmp_path):
    tls = (
        f'{{ enabled = true, ca = "{RUN}/mqtt-ca.crt", cert = "{RUN}/mqtt-client.crt", '
        f'key = "{tmp_path}/own.key" }}'
    )
    config = load_config(unit_config(tmp_path, 8883, tls=tls))
    resolved = with_credential_sources(config, unit_files(tmp_path)).mqtt.tls
    assert resolved.ca == tmp_path / "tls" / "force-ca.crt"
    assert resolved.cert == tmp_path / "tls" / "unit.crt"
    assert resolved.key == tmp_path / "own.key"  # not a credential: as written
    # no unit file: the paths stay, and the broker check names them as missing
    assert with_credential_sources(config, [tmp_path / "none"]).mqtt.tls.ca == Path(
        f"{RUN}/mqtt-ca.crt"
    )
