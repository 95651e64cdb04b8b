"""What is wrong with the unit's TLS set-up, in one line a technician can act on.

OpenSSL's own words (`[Errno 2] No such file or directory`, `PEM lib`, `certificate verify
failed`) name neither the config key nor the file, and paho reports every failed handshake as
a broker it cannot reach. Two checks put that right:

- `check_tls_files` looks at the files `mqtt.tls.ca`, `cert` and `key` name, before anything
  uses them: each exists and is readable, the CA and certificate are PEM certificates and the
  key a PEM private key (a swapped pair is named as such), the certificate is the key's, and
  the key is not readable by group or others (a warning: it still works).
- `explain_tls_failure` tries the TLS handshake itself with Python's `ssl` module, bounded by
  a timeout, and says why it fails: the broker's certificate not signed by our CA, not naming
  the host, expired; or the broker refusing our certificate. The unit calls it when a
  connection fails; `anpr-edge selftest` when its broker check fails.
"""

from __future__ import annotations

import socket
import ssl
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CREDENTIALS = Path("/run/credentials")
SECRET_MODE_BITS = 0o077  # a private key is its owner's alone
ALERT_WAIT_S = 1.0  # TLS 1.3: a refused client certificate shows just after the handshake
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
PEM_PRIVATE_KEY = b"PRIVATE KEY-----"  # PKCS#8, RSA, EC, encrypted: all end so


@dataclass(frozen=True)
class TlsFileProblem:
    key: str  # the config key, e.g. "mqtt.tls.key"
    path: Path
    message: str  # the whole line: "mqtt.tls.key: /etc/…/unit.key: no such file"
    warning: bool = False  # usable as it is, but should be put right

    def __str__(self) -> str:
        return self.message


def check_tls_files(
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    passphrase: str | None = None,
    *,
    prefix: str = "mqtt.tls",
) -> list[TlsFileProblem]:
    """Every problem with the TLS files, errors first; an empty list when all is well."""
    problems: list[TlsFileProblem] = []

    def problem(name: str, path: Path, what: str, warning: bool = False) -> None:
        full = f"{prefix}.{name}: {path}: {what}"
        problems.append(TlsFileProblem(f"{prefix}.{name}", path, full, warning))

    texts = {}
    for name, path in (("ca", ca), ("cert", cert), ("key", key)):
        if path is not None:
            text = _read(Path(path), lambda what, n=name, p=path: problem(n, Path(p), what))
            if text is not None:
                texts[name] = (Path(path), text)
    if "ca" in texts:
        path, text = texts["ca"]
        if PEM_CERTIFICATE not in text:
            problem("ca", path, _not_a("certificate", text))
        else:
            try:
                ssl.create_default_context(cafile=str(path))
            except ssl.SSLError as exc:
                problem("ca", path, f"not a usable CA certificate ({exc.reason or exc})")
    certificate = private = None
    if "cert" in texts:
        path, text = texts["cert"]
        if PEM_CERTIFICATE not in text:
            problem("cert", path, _not_a("certificate", text))
        else:
            try:
                certificate = x509.load_pem_x509_certificate(text)
            except ValueError as exc:
                problem("cert", path, f"not a readable PEM certificate ({exc})")
    if "key" in texts:
        path, text = texts["key"]
        if PEM_PRIVATE_KEY not in text:
            problem("key", path, _not_a("private key", text))
        else:
            private = _load_key(text, passphrase, lambda what: problem("key", path, what))
    if certificate is not None and private is not None and not _pair(certificate, private):
        problems.append(
            TlsFileProblem(
                f"{prefix}.cert",
                Path(cert),  # type: ignore[arg-type]
                f"{prefix}.cert and {prefix}.key do not match: {cert} is the certificate of "
                f"another key than {key}",
            )
        )
    if "key" in texts and PEM_PRIVATE_KEY in texts["key"][1]:
        path = texts["key"][0]
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & SECRET_MODE_BITS:
            why = f"is mode {mode:04o}: group or others can read the unit's private key (chmod 600)"
            problem("key", path, why, warning=True)
    return sorted(problems, key=lambda p: p.warning)


def _read(path: Path, report) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        hint = ""
        if CREDENTIALS in path.parents:  # LoadCredential= files exist only inside the service
            hint = (
                "; it is a systemd credential, present only while the anpr-edge service runs, "
                "and no LoadCredential= in the installed unit names its source"
            )
        report(f"no such file{hint}")
    except IsADirectoryError:
        report("is a folder, not a file")
    except PermissionError:
        report("cannot read it (permission denied): run as the service's user or with sudo")
    except OSError as exc:
        report(f"cannot read it: {exc.strerror or exc}")
    return None


def _not_a(expected: str, text: bytes) -> str:
    if expected == "certificate" and PEM_PRIVATE_KEY in text:
        return "is a private key, not a certificate (cert and key swapped?)"
    if expected == "private key" and PEM_CERTIFICATE in text:
        return "is a certificate, not a private key (cert and key swapped?)"
    return f"not a PEM {expected} (no '-----BEGIN …' block of one)"


def _load_key(text: bytes, passphrase: str | None, report):
    password = passphrase.encode() if passphrase else None
    try:
        return serialization.load_pem_private_key(text, password=password)
    except TypeError:
        if password is None:
            report(
                "is encrypted and no passphrase is set (credential mqtt-key-passphrase or "
                "environment ANPR_EDGE_MQTT_KEY_PASSPHRASE)"
            )
        else:
            report("is not encrypted, but a passphrase is set: remove the passphrase")
    except ValueError as exc:
        if password is not None and "password" in str(exc).lower():
            report("the passphrase does not open it (wrong mqtt-key-passphrase?)")
        else:
            report(f"not a readable PEM private key ({exc})")
    except Exception as exc:  # e.g. UnsupportedAlgorithm: say which, never a traceback
        report(f"not a usable private key ({type(exc).__name__}: {exc})")
    return None


def _pair(certificate: x509.Certificate, private) -> bool:
    form = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    return certificate.public_key().public_bytes(
        encoding, form
    ) == private.public_key().public_bytes(encoding, form)


def explain_tls_failure(
    host: str,
    port: int,
    ca: Path | None,
    cert: Path | None = None,
    key: Path | None = None,
    passphrase: str | None = None,
    timeout_s: float = 5.0,
) -> str | None:
    """Try a TLS handshake with the broker as the unit would (verifying the broker against
    `ca`, presenting `cert`/`key`); the one-line reason it fails, or None when it works.

    A broker that cannot be reached at all returns that reason too, so a caller may log
    whatever comes back in place of "cannot reach the broker"."""
    address = f"{host}:{port}"
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if cert is not None:
            context.load_cert_chain(str(cert), str(key) if key else None, passphrase)
    except (OSError, ssl.SSLError, ValueError):
        files = check_tls_files(ca, cert, key, passphrase)
        errors = [p for p in files if not p.warning]
        return str(errors[0]) if errors else "the TLS files cannot be loaded"
    deadline = time.monotonic() + timeout_s
    try:
        raw = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        return f"cannot reach the broker {address}: {exc.strerror or exc}"
    try:
        raw.settimeout(max(deadline - time.monotonic(), 0.1))
        with context.wrap_socket(raw, server_hostname=host) as tls:
            # TLS 1.3 finishes the client's side of the handshake before the broker has looked
            # at our certificate: its verdict (an alert) arrives on the first read.
            tls.settimeout(max(min(ALERT_WAIT_S, deadline - time.monotonic()), 0.1))
            try:
                if tls.recv(1) == b"" and cert is not None:
                    return (
                        f"the broker {address} closed the connection after the TLS handshake "
                        "(did it refuse our certificate?)"
                    )
            except TimeoutError:
                pass  # silence: it waits for our CONNECT, as a broker that accepted us does
            return None
    except ssl.SSLCertVerificationError as exc:
        return _verification(address, exc, ca, host)
    except ssl.SSLError as exc:
        reason = (exc.reason or str(exc)).lower()
        if "alert" in reason or "certificate" in reason:
            return f"the broker {address} refused our certificate ({exc.reason or exc}): " + (
                f"{cert} is not signed by a CA the broker trusts, has expired or is revoked"
                if cert is not None
                else "it requires a client certificate (mqtt.tls.cert, mqtt.tls.key)"
            )
        return f"TLS handshake with {address} failed: {exc.reason or exc}"
    except TimeoutError:
        return f"no TLS handshake with {address} within {timeout_s:g} s (is it a TLS port?)"
    except ConnectionError as exc:
        return f"the broker {address} dropped the connection during the TLS handshake ({exc})"
    except OSError as exc:
        return f"TLS handshake with {address} failed: {exc.strerror or exc}"
    finally:
        raw.close()


def _verification(address: str, exc: ssl.SSLCertVerificationError, ca, host: str) -> str:
    code, message = exc.verify_code, exc.verify_message
    # a bad signature (a CA of the same name), self-signed, unknown issuer, no chain
    if code in (2, 7, 18, 19, 20, 21):
        return f"the broker's certificate is not signed by the CA in {ca} (mqtt.tls.ca): {message}"
    if code == 62:
        return f"the broker's certificate does not name {host} (mqtt.host): {message}"
    if code == 10:
        return f"the broker's certificate at {address} has expired"
    if code == 9:
        return f"the broker's certificate at {address} is not valid yet (check the clock)"
    return f"the broker's certificate at {address} failed verification against {ca}: {message}"
