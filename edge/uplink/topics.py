"""The unit's MQTT topics (DESIGN §3): all under `{prefix}/units/{unit}/`, so a broker ACL can
give each unit its own subtree and nothing else (firmware_config/mosquitto-centre.conf)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str
    unit_id: str

    def _of(self, name: str) -> str:
        return f"{self.prefix}/units/{self.unit_id}/{name}"

    @property
    def hits(self) -> str:
        return self._of("hits")

    @property
    def reads(self) -> str:
        return self._of("reads")

    @property
    def status(self) -> str:
        return self._of("status")

    @property
    def health(self) -> str:
        return self._of("health")

    @property
    def cmd(self) -> str:
        """Commands from the centre (edge.uplink.commands)."""
        return self._of("cmd")

    @property
    def cmd_result(self) -> str:
        return self._of("cmd/result")
