"""A private PostgreSQL server in a temporary folder, for tests and the fleet simulation
(Debian's `postgresql` package: /usr/lib/postgresql/<major>/bin), started and stopped by PID.

PostgreSQL refuses to run as root. Run as root (as in CI and here), the server is started as
an unprivileged user instead, `nobody` unless `ANPR_PG_USER` names another (a dedicated system
user is better on a shared machine): `subprocess.Popen(user=…, group=…, extra_groups=[])`
drops to it in the child before exec, so the PID we hold is the postmaster's own. The folder is
made 0711 (others may pass through, not list) and holds the data directory and the socket
directory, both 0700 and owned by that user. No TCP: `listen_addresses = ''`; clients connect
over the Unix socket in that private directory, where only that user and root can reach it,
with `trust` authentication (a test server; a force's centre uses its own, with passwords or
certificates). As any other user the server simply runs as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from edge.devtools.processes import stop_server

SUPERUSER = "anpr"


def find_bin() -> Path | None:
    """The newest installed major version's bin folder with initdb and postgres, or None."""

    def major(path: str) -> int:
        name = Path(path).parts[-3]
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=major)
    return Path(found[-1]).parent if found else None


class Postgres:
    def __init__(self, *, fsync: bool = True, run_as: str | None = None):
        bindir = find_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.user = run_as or (os.environ.get("ANPR_PG_USER", "nobody") if os.geteuid() == 0
                               else pwd.getpwuid(os.geteuid()).pw_name)  # fmt: skip
        entry = pwd.getpwnam(self.user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.root = Path(tempfile.mkdtemp(prefix="anpr-pg-"))
        self.root.chmod(0o711)
        self.data, self.sockets = self.root / "data", self.root / "run"
        for folder in (self.data, self.sockets):
            folder.mkdir(mode=0o700)
            os.chown(folder, self.uid, self.gid)
        self.fsync = fsync
        self.log = self.root / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _as_user(self) -> dict:
        if os.geteuid() != 0:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(self.root)}

    def start(self, timeout_s: float = 60.0) -> None:
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--no-instructions"],
            cwd=self.root, env=self._env(), capture_output=True, timeout=timeout_s,
            check=True, **self._as_user(),
        )  # fmt: skip
        with open(self.log, "wb") as log:
            os.chmod(self.log, 0o600)
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-k", str(self.sockets),
                 "-c", "listen_addresses=", "-c", f"fsync={'on' if self.fsync else 'off'}",
                 "-c", "max_connections=50", "-c", "shared_buffers=64MB"],
                cwd=self.root, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, **self._as_user(),
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text()[-2000:]}")
            if self._ready():
                self._create("anpr")
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres did not start in {timeout_s:g} s: see {self.log}")

    def dsn(self, dbname: str = "anpr") -> str:
        return f"host={self.sockets} dbname={dbname} user={SUPERUSER} connect_timeout=10"

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.dsn("postgres"), connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    def _create(self, dbname: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')

    def stop(self, timeout_s: float = 30.0) -> None:
        """A fast shutdown (SIGINT), then SIGKILL if it hangs; the folder is removed."""
        if self.process is not None:
            stop_server(self.process, timeout_s, signal.SIGINT)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
