"""The hotlist loop over TLS, as at the roadside (mqtt.tls): a real Mosquitto with a TLS
listener and a certificate from a test CA; the centre publishes with --ca, the unit syncs with
`mqtt.tls.ca` from its config. A client that does not trust the CA gets no connection."""

from __future__ import annotations

import threading

import pytest

from edge.cli import main
from edge.config import load_config
from edge.hotlist.index import IndexHolder
from edge.hotlist.unit import make_sync
from tests.support.hotlist import Centre, entry, wait_for, write_config
from tests.support.tls import make_ca_and_server

pytestmark = pytest.mark.broker


def test_publish_and_sync_over_tls(tmp_path, tls_broker, capsys):
    port, ca = tls_broker
    centre = Centre(tmp_path / "keys")
    config = load_config(write_config(tmp_path, centre.trusted_paths, port=port, tls_ca=ca))
    assert config.mqtt.tls.enabled
    stop, holder = threading.Event(), IndexHolder()
    sync = make_sync(config, holder, stop)
    sync.start()
    try:
        wait_for(sync.connected.is_set, "connected over TLS")
        bundle = tmp_path / "v1.json"
        bundle.write_bytes(centre.snapshot("national", 1, [entry("AB12CDE")]))
        publish = ["hotlist", "publish", str(bundle), "--broker", f"127.0.0.1:{port}", "--ca"]
        assert main([*publish, str(ca)]) == 0
        wait_for(lambda: holder.versions().get("national") == 1, "applied over TLS")
    finally:
        stop.set()
        sync.join(20)
    capsys.readouterr()
    (tmp_path / "other").mkdir()
    other_ca = make_ca_and_server(tmp_path / "other")["ca"]  # a CA the broker never used
    assert main([*publish, str(other_ca), "--timeout", "3"]) == 1
    assert "certificate verify failed" in capsys.readouterr().err
