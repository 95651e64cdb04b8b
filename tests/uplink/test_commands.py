"""Commands from the centre (edge.uplink.commands): a small validated set, each answered on
`units/{unit}/cmd/result`; bad ones are rejected with a reason and counted, never acted on."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.uplink.commands import Command, Rejected, parse_command
from tests.support.unit import PREFIX, validate, wait_for
from tests.support.uplink import Unit

CMD = f"{PREFIX}/units/unit-1/cmd"
RESULT = f"{PREFIX}/units/unit-1/cmd/result"


def command(**body) -> bytes:
    return json.dumps({"schema": "anpr.cmd/1", "id": "c-1", **body}).encode()


@pytest.mark.parametrize(
    ("payload", "retained", "reason"),
    [
        (b"\xff\xfe", False, "not JSON"),
        (b"[1, 2]", False, "expected a JSON object, got list"),
        (b"{", False, "not JSON"),
        (b" " * 5000, False, "command of 5000 bytes; at most 4096"),
        (command(command="ping", schema="anpr.cmd/2"), False, "schema: got 'anpr.cmd/2'"),
        (command(command="ping", id="a b"), False, "id: expected 1-64 characters"),
        (command(command="ping", id=7), False, "id: expected 1-64 characters"),
        (command(command="reboot"), False, "command: got 'reboot'; expected one of health"),
        (command(command="ping", args={"x": 1}), False, "args: ping takes no arguments"),
        (command(command="ping", sudo=True), False, "unknown key(s): sudo"),
        (command(command="retry"), True, "retained commands are refused"),
    ],
)
def test_bad_commands_are_rejected_with_their_reason(payload, retained, reason):
    result = parse_command(payload, retained)
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_good_commands_parse():
    assert parse_command(command(command="ping")) == Command("c-1", "ping")
    assert parse_command(command(command="retry", args={})) == Command("c-1", "retry")


class Centre:
    """The centre's side: sends commands, collects results."""

    def __init__(self, broker):
        self.results: list[dict] = []
        self.lock, ready = threading.Lock(), threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="centre", protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.on_connect = lambda c, *a: c.subscribe(RESULT, qos=1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        wait_for(ready.is_set, "the centre did not subscribe")

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.results.append(json.loads(message.payload))

    def send(self, payload: bytes, retain: bool = False) -> dict:
        count = len(self.results)
        self.client.publish(CMD, payload, qos=1, retain=retain).wait_for_publish(5)
        wait_for(lambda: len(self.results) > count, "no result for the command", 10)
        return self.results[count]

    def close(self) -> None:
        self.client.publish(CMD, b"", qos=1, retain=True).wait_for_publish(5)  # clear retained
        self.client.disconnect()
        self.client.loop_stop()


def test_a_unit_answers_every_command_and_acts_only_on_valid_ones(tmp_path, broker):
    unit = Unit(tmp_path, broker)
    wait_for(lambda: unit.publisher.connected, "the unit did not connect")
    wait_for(lambda: unit.publisher.client.is_connected(), "paho did not connect")
    centre = Centre(broker)
    try:
        wait_for(lambda: centre.send(command(command="ping", id="p-0"))["ok"], "no ping", 15)
        ping = centre.send(command(command="ping", id="p-1"))
        validate("cmd-result", ping)
        assert ping["ok"] and ping["id"] == "p-1" and ping["unit_id"] == "unit-1"
        assert ping["versions"]["hotlists"] == {"demo": 7} and ping["broker"]["connected"]

        assert not unit.publisher.desk.health_now.is_set()
        assert centre.send(command(command="health"))["ok"]
        assert unit.publisher.desk.health_now.is_set()  # the supervisor publishes and clears

        bad = centre.send(command(command="shutdown", id="evil-1"))
        validate("cmd-result", bad)
        assert not bad["ok"] and bad["id"] == "evil-1" and "shutdown" in bad["detail"]
        garbage = centre.send(b"\x00not json")
        assert not garbage["ok"] and garbage["id"] is None
        retained = centre.send(command(command="retry", id="r-1"), retain=True)
        assert not retained["ok"] and "retained" in retained["detail"]
        assert not unit.publisher.retry.is_set()  # a rejected retry did nothing
        assert unit.counters.commands == 3 and unit.counters.commands_rejected == 3
    finally:
        centre.close()
        unit.stop()
