"""Every MQTT topic of the protocol (DESIGN §3, docs/protocol.md), named in one place.

A unit's own topics are all under `{prefix}/units/{unit}/`, so a broker ACL can give each unit
its own subtree and nothing else (firmware_config/mosquitto-centre.conf). The centre's hotlists
are under `{prefix}/hotlists/{list}/snapshot` and `…/delta`, read by every unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from edge.config import Config

BundleKind = Literal["snapshot", "delta"]
BUNDLE_KINDS: tuple[BundleKind, ...] = ("snapshot", "delta")


def _unit_topic(name: str, doc: str = "") -> property:
    return property(lambda topics: topics.of(name), doc=doc or f"{{prefix}}/units/{{unit}}/{name}")


@dataclass(frozen=True)
class Topics:
    prefix: str
    unit_id: str

    @classmethod
    def from_config(cls, config: Config) -> Topics:
        return cls(config.mqtt.topic_prefix, config.unit.id)

    def of(self, name: str) -> str:
        return f"{self.prefix}/units/{self.unit_id}/{name}"

    hits = _unit_topic("hits")
    reads = _unit_topic("reads")
    status = _unit_topic("status")
    health = _unit_topic("health")
    cmd = _unit_topic("cmd", "Commands from the centre (edge.uplink.commands).")
    cmd_result = _unit_topic("cmd/result")


def hotlist_topic(prefix: str, list_id: str, kind: str) -> str:
    """Where the centre publishes a list's bundles of one `kind` (snapshot or delta)."""
    return f"{prefix}/hotlists/{list_id}/{kind}"


def all_hotlists(prefix: str) -> str:
    """The filter that matches every list's bundles."""
    return f"{prefix}/hotlists/#"


def model_topic(prefix: str, group: str) -> str:
    """Where the centre publishes the signed model bundle of a fleet or unit group (retained)."""
    return f"{prefix}/models/{group}/bundle"


def config_topic(prefix: str, group: str) -> str:
    """Where the centre publishes a signed partial configuration of a group (retained)."""
    return f"{prefix}/config/{group}/bundle"
