"""A throwaway force CA for simulations and tests: the broker's certificate, one client
certificate per unit (CN = unit id) and the centre's (docs/security.md says how a force issues
the real ones). EC P-256, valid from 5 minutes ago for `days`; keys written 0600."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge.files import write_private


@dataclass(frozen=True)
class Identity:
    cn: str
    cert: Path
    key: Path


class ForceCA:
    def __init__(self, folder: Path, name: str = "simulated force CA", days: int = 2):
        self.folder, self.days = folder, days
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.revoked: list[int] = []
        start, end = self._validity()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = folder / "ca.crt"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def _validity(self, expired: bool = False) -> tuple[dt.datetime, dt.datetime]:
        now = dt.datetime.now(dt.UTC)
        if expired:
            return now - dt.timedelta(days=30), now - dt.timedelta(days=1)
        return now - dt.timedelta(minutes=5), now + dt.timedelta(days=self.days)

    def issue(
        self,
        cn: str,
        *,
        server_ip: str | None = None,
        expired: bool = False,
        passphrase: str | None = None,
    ) -> Identity:
        """A client certificate for `cn`, or with `server_ip` the broker's (that IP in its
        subjectAltName); `expired` one that ended yesterday; its key encrypted with
        `passphrase` when given. Files `<cn>.crt` and `<cn>.key` (`/` made `_`)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start, end = self._validity(expired)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server_ip else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server_ip:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(server_ip))]),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        stem = cn.replace("/", "_") + ("-expired" if expired else "")
        cert_path, key_path = self.folder / f"{stem}.crt", self.folder / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode())
            if passphrase
            else serialization.NoEncryption()
        )
        write_private(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            ),
        )
        return Identity(cn, cert_path, key_path)

    def revoke(self, identity: Identity) -> None:
        """Revoke `identity`'s certificate and write the CRL again."""
        cert = x509.load_pem_x509_certificate(identity.cert.read_bytes())
        self.revoked.append(cert.serial_number)
        self.write_crl()

    def write_crl(self) -> Path:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.name)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=self.days))
        )
        for serial in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - dt.timedelta(minutes=1))
                .build()
            )
        path = self.folder / "ca.crl"
        path.write_bytes(
            builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        )
        return path
