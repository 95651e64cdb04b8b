"""Test certificates: a CA and a broker certificate for 127.0.0.1, and a unit client certificate
signed by a second CA the broker trusts (both CAs from edge.devtools.pki)."""

from __future__ import annotations

from pathlib import Path

from edge.devtools.pki import ForceCA


def make_ca_and_server(folder: Path) -> dict[str, Path]:
    ca = ForceCA(folder, "test force CA", days=1)
    server = ca.issue("127.0.0.1", server_ip="127.0.0.1")
    return {"ca": ca.cert_path, "server": server.cert, "server-key": server.key}


def client_certificate(folder: Path, paths: dict[str, Path]) -> tuple[Path, Path, Path]:
    """A unit certificate and the CA bundle a broker needs to accept it: the test CA's key is
    not kept by make_ca_and_server, so a second CA signs it and the broker trusts both."""
    unit_ca = ForceCA(folder / "unit-ca", "test unit CA", days=1)
    unit = unit_ca.issue("test-unit")
    bundle = folder / "client-cas.pem"
    bundle.write_bytes(paths["ca"].read_bytes() + unit_ca.cert_path.read_bytes())
    return bundle, unit.cert, unit.key
