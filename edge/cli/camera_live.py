"""`anpr-edge camera live`: open the running unit's live aiming page (edge.live) and print its
address with a new token; `--open` also opens it in this machine's browser.

The page comes from the service (it owns the camera): this command finds it through its status
file, asks it with SIGUSR2 (edge.live.control) and prints its answer. Like `anpr-edge status`,
it reads files that belong to the service's user: run it as that user or with sudo.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edge.cli.common import EXIT_OK, add_command, add_switch, print_json


def register(group: argparse._SubParsersAction) -> None:
    live = add_command(group, "live", live_command, with_config=True, with_json=True)
    add_switch(live, "--open", "also open the address in this machine's web browser")


def live_command(args: argparse.Namespace) -> int:
    """open the running unit's live aiming page and print its address with a new token

    Ask the running unit to serve its live aiming page (the newest frame with plates boxed and
    read, each plate's height and sharpness, brightness, clipping, exposure, fps, the last reads
    and health) and print its address with a new one-time token: the previous token stops
    working. The page stays open for live.session_s (default 15 minutes) unless live.enabled
    keeps it open. It listens on live.bind, 127.0.0.1 by default: from a laptop, forward the
    port over SSH (ssh -L 8480:127.0.0.1:8480 UNIT) and open the address there. Needs the
    service's user or sudo, like status.

    Example:
        anpr-edge camera live
        sudo anpr-edge camera live --open --json
    """
    import webbrowser

    from edge.config import load_config
    from edge.live.control import control_path, request_page
    from edge.unit.status import read_service_state

    config = load_config(args.config)
    status_file = Path(config.health.status_file)
    state = read_service_state(status_file, config.health.interval_s, time.time())
    session = request_page(state, control_path(status_file))
    if session.error is not None:
        from edge.errors import RuntimeFailure

        raise RuntimeFailure(f"the unit could not open its live page: {session.error}")
    url = session.url or ""
    if args.open:
        webbrowser.open(url)
    if args.json:
        print_json(session.as_json())
        return EXIT_OK
    print(f"live page: {url}")
    until = f"until {session.until}" if session.until else "while the unit runs (live.enabled)"
    print(f"  open {until}; this token replaces any earlier one")
    if session.bind in ("127.0.0.1", "::1"):
        print(
            f"  from a laptop: ssh -L {session.port}:127.0.0.1:{session.port} USER@UNIT, then "
            "open the address there"
        )
    return EXIT_OK
