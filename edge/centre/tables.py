"""The centre's PostgreSQL tables, and the statements that fill them idempotently.

Each read is stored once by its `read_id` (DESIGN §3: unique, stable across a unit's retries):
`INSERT … ON CONFLICT (read_id) DO NOTHING`, so a redelivered message (MQTT QoS 1 is at least
once) changes nothing. A hit goes to `hits`, its read (which follows once the vehicle has
left the picture, with the same read_id and `hit` true) to `reads`. The alerting side LISTENs
on channel `anpr_hit`: a row trigger notifies it of each *new* hit only (a skipped duplicate
fires no insert trigger), and `alert_state` records how far it got.
"""

from __future__ import annotations

import json
from typing import Any

HIT_CHANNEL = "anpr_hit"

SCHEMA_SQL = f"""
CREATE TABLE IF NOT EXISTS reads (
    read_id     text PRIMARY KEY,
    unit_id     text NOT NULL,
    camera_id   text NOT NULL,
    vrm         text NOT NULL,
    confidence  real NOT NULL,
    captured_at timestamptz NOT NULL,
    hit         boolean NOT NULL,
    payload     jsonb NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS reads_vrm_time ON reads (vrm, captured_at);
CREATE INDEX IF NOT EXISTS reads_unit_time ON reads (unit_id, captured_at);
CREATE TABLE IF NOT EXISTS hits (
    read_id     text PRIMARY KEY,
    unit_id     text NOT NULL,
    vrm         text NOT NULL,
    captured_at timestamptz NOT NULL,
    list        text NOT NULL,
    version     bigint NOT NULL,
    kind        text NOT NULL,
    priority    integer NOT NULL,
    payload     jsonb NOT NULL,
    alert_state text NOT NULL DEFAULT 'new'
                CHECK (alert_state IN ('new', 'sent', 'acknowledged')),
    stored_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS hits_new ON hits (stored_at) WHERE alert_state = 'new';
CREATE OR REPLACE FUNCTION anpr_hit_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{HIT_CHANNEL}', NEW.read_id);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER hits_notify AFTER INSERT ON hits
    FOR EACH ROW EXECUTE FUNCTION anpr_hit_notify();
"""

INSERT_READ = (
    "INSERT INTO reads (read_id, unit_id, camera_id, vrm, confidence, captured_at, hit, payload)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (read_id) DO NOTHING"
)
INSERT_HIT = (
    "INSERT INTO hits (read_id, unit_id, vrm, captured_at, list, version, kind, priority,"
    " payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (read_id) DO NOTHING"
)
SETUP_LOCK = 0x616E7072  # one consumer at a time creates the tables ("anpr")


def create_tables(conn) -> None:
    """Idempotent; safe with several consumers starting at once."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
        conn.execute(SCHEMA_SQL)


def read_row(p: dict[str, Any]) -> tuple:
    return (p["read_id"], p["unit_id"], p["camera_id"], p["vrm"], p["confidence"],
            p["captured_at"], p["hit"], json.dumps(p))  # fmt: skip


def hit_row(p: dict[str, Any]) -> tuple:
    priority = min((m["priority"] for m in p["matches"]), default=5)
    return (p["read_id"], p["unit_id"], p["vrm"], p["captured_at"], p["list"], p["version"],
            p["kind"], priority, json.dumps(p))  # fmt: skip
