"""paho-mqtt clients for the hotlist sync and the `hotlist publish` command.

paho-mqtt 2.x, MQTT v5 (or 3.1.1 where the broker can do no better: `mqtt.protocol`),
`CallbackAPIVersion.VERSION2`. TLS and credentials follow the unit's
`mqtt` config section (the password and key passphrase from edge.config.secrets, never from
the file). A connection counts as made when a successful CONNACK arrives, not when `connect()`
returns: with TLS 1.3 a refused client certificate only shows after the handshake
(../shared/NOTES.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.errors import RuntimeFailure


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    username: str = ""
    password: str | None = None
    tls: bool = False
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    key_passphrase: str | None = None
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0
    protocol: str = "5"  # or "3.1.1" (mqtt.protocol)

    @property
    def mqtt5(self) -> bool:
        return self.protocol == "5"

    @staticmethod
    def from_config(config, client_id: str) -> BrokerSettings:
        """From a unit `Config`, with secrets from systemd credentials or the environment."""
        from edge.config import load_secrets

        secrets = load_secrets()
        password, passphrase = (
            secrets[name].value for name in ("mqtt_password", "mqtt_key_passphrase")
        )
        mqtt_config, tls = config.mqtt, config.mqtt.tls
        return BrokerSettings(
            mqtt_config.host,
            mqtt_config.port,
            client_id,
            mqtt_config.username,
            password.get_secret_value() if password else None,
            tls.enabled,
            tls.ca,
            tls.cert,
            tls.key,
            passphrase.get_secret_value() if passphrase else None,
            mqtt_config.keepalive_s,
            mqtt_config.connect_timeout_s,
            mqtt_config.protocol,
        )

    def __repr__(self) -> str:  # never show the password or passphrase
        return f"BrokerSettings({self.host}:{self.port}, client {self.client_id!r})"


def make_client(
    settings: BrokerSettings, *, manual_ack: bool = False, persistent: bool = False
) -> mqtt.Client:
    """A client for `settings.protocol`. `persistent`: the broker keeps the session across
    disconnects; MQTT 3.1.1 asks for that here (clean_session=False), MQTT 5 at connect time
    (clean_start=False with a session expiry, see edge.hotlist.sync)."""
    v5 = settings.mqtt5
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else not persistent,
        manual_ack=manual_ack,
    )
    client.connect_timeout = settings.connect_timeout_s
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        try:
            client.tls_set(
                ca_certs=str(settings.ca) if settings.ca else None,
                certfile=str(settings.cert) if settings.cert else None,
                keyfile=str(settings.key) if settings.key else None,
                keyfile_password=settings.key_passphrase,
            )
        except (OSError, ValueError) as exc:
            raise RuntimeFailure(
                f"cannot set up TLS for {settings.host}:{settings.port}: {exc}"
            ) from None
    return client


class ConnackWaiter:
    """Set as `on_connect`: records the CONNACK reason code and wakes whoever waits for it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None
        self.failed = False

    def __call__(self, client, userdata, flags, reason_code, properties) -> None:
        self.reason, self.failed = str(reason_code), reason_code.is_failure
        self.event.set()

    def wait(self, settings: BrokerSettings) -> None:
        if not self.event.wait(settings.connect_timeout_s):
            raise RuntimeFailure(
                f"no CONNACK from {settings.host}:{settings.port} within "
                f"{settings.connect_timeout_s:g} s (broker down, or TLS or "
                "credentials refused)"
            )
        if self.failed:
            raise RuntimeFailure(
                f"{settings.host}:{settings.port} refused the connection: {self.reason}"
            )
