"""The demo's hotlist: demo signing keys made on first use, and a signed list of plates that
will appear on the synthetic road, applied to the unit's store.

Private keys are never committed: they are generated beside the configured public keys (the
demo config trusts `var/demo-keys/centre-a.pub` and `centre-b.pub`), 0600. Every sixth vehicle
of the road's plan (deterministic by `camera.seed`) is put on the first configured list, with a
version from the clock so that each run's list supersedes the last. Run as
`python -m edge.devtools.demo [--config PATH]` (what `make demo` does before `anpr-edge run`).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from edge.capture.sources.road import RoadPlan
from edge.config import Config, load_config
from edge.hotlist.apply import BundleApplier
from edge.hotlist.bundle import seal, snapshot_payload
from edge.hotlist.signing import generate_keypair, load_signing_key
from edge.hotlist.unit import max_payload_bytes, open_store, trusted_keys
from edge.times import rfc3339_now

log = logging.getLogger(__name__)

CATEGORIES = (
    ("stolen", 1, "intercept", "stolen vehicle (demo)"),
    ("no-insurance", 4, "monitor", "no insurance record (demo)"),
    ("drugs", 2, "intercept", "intelligence marker (demo)"),
    ("firearms", 1, "do-not-stop", "armed suspect (demo)"),
)


def ensure_keys(config: Config) -> Path:
    """The private key to sign with: beside the first trusted public key, made if missing."""
    for public in config.hotlist.trusted_keys:
        public = Path(public)
        private = public.with_suffix(".key")
        if not public.exists() and not private.exists():
            key_id, _, _ = generate_keypair(public.parent, public.stem)
            log.info("demo signing key %s made: %s", key_id, private)
    for public in config.hotlist.trusted_keys:
        private = Path(public).with_suffix(".key")
        if private.exists():
            return private
    raise FileNotFoundError("no private key beside any hotlist.trusted_keys entry")


def hot_plates(config: Config, vehicles: int = 600, every: int = 6) -> list[str]:
    plan = RoadPlan(config.camera.seed).first(vehicles)
    return sorted({vehicle.plate for vehicle in plan[every - 1 :: every]})


def prepare_demo_hotlist(config: Config, config_file: str = "", every: int = 6) -> list[str]:
    """Sign and apply the demo list; returns its plates."""
    key = load_signing_key(ensure_keys(config))
    list_id = config.hotlist.lists[0]
    plates = hot_plates(config, every=every)
    entries = [
        [plate, *CATEGORIES[i % len(CATEGORIES)][:3], CATEGORIES[i % len(CATEGORIES)][3], None]
        for i, plate in enumerate(plates)
    ]
    bundle = seal(snapshot_payload(list_id, int(time.time()), rfc3339_now(), entries), key)
    with open_store(config) as store:
        applier = BundleApplier(
            store,
            trusted_keys(config, config_file),
            max_payload_bytes=max_payload_bytes(config),
            lists=config.hotlist.lists,
        )
        applier.apply(bundle)
    return plates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="make the demo keys and hotlist")
    parser.add_argument("--config", help="unit config (default: the demo config)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    config = load_config(args.config)
    plates = prepare_demo_hotlist(config, args.config or "")
    print(
        f"demo hotlist {config.hotlist.lists[0]!r}: {len(plates)} plates of vehicles that will "
        f"drive past, signed with a demo key in {Path(config.hotlist.trusted_keys[0]).parent}/"
    )
    print(f"  e.g. {', '.join(plates[:6])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
