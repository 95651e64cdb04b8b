"""The one way the tests run `anpr-edge`.

`anpr(*args)` runs it in this process: the CLI's own `main(argv)`, with file descriptors 1 and
2 caught (so what C libraries write is caught too) and its exit code returned, as a fresh
`anpr-edge` would see things: `env` added to the environment, the repository as the working
directory, logging without pytest's handlers (warnings of loggers without a handler reach
stderr through Python's last resort, as in a process), `--help` and usage errors (SystemExit)
and an uncaught exception (traceback on stderr, exit 1) as a process gives them. All of it is
put back afterwards.

`anpr(*args, process=True)` and `start(*args)` run `python -m edge` from the repository (so
the checkout's code, whatever is installed) as a real process, only for what needs one: a unit
that runs (signals, systemd's notify socket), a command beside a running unit, figures that are
the process's own (bench's memory), file modes under a umask, OpenSSL that must not find a
terminal, a pseudo-terminal on stderr. Both detach the process from the test's terminal: no
stdin, its own session. `timeout` applies to a process only.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.paths import REPO

# No terminal: OpenSSL would ask it for a missing key passphrase, and wait.
_DETACHED = {"stdin": subprocess.DEVNULL, "start_new_session": True}
# The demo config, for commands that read a config but are tested without one of their own.
DEMO_ENV = {"ANPR_EDGE_CONFIG": str(REPO / "firmware_config" / "demo.toml")}


@dataclass(frozen=True)
class Result:
    """What `anpr` gives back in process: the fields of a subprocess.CompletedProcess."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def anpr(
    *args: str,
    env: dict | None = None,
    process: bool = False,
    timeout: float = 600,
    umask: int | None = None,
) -> Result | subprocess.CompletedProcess:
    """Run `anpr-edge ARGS`: in this process, or as a real one with `process=True`."""
    if process:
        return subprocess.run(
            [sys.executable, "-m", "edge", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
            **_DETACHED,
        )
    if umask is not None:
        raise ValueError("umask: only for process=True")
    return _in_process(list(args), env or {})


def start(
    *args: str, env: dict | None = None, umask: int | None = None, **popen
) -> subprocess.Popen:
    """`anpr-edge ARGS` as a running process: stdout and stderr piped as text, unless `popen`
    says otherwise (a unit that logs a lot needs files: a pipe nobody reads fills and blocks)."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen(
        [sys.executable, "-m", "edge", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
        **_DETACHED,
        **options,
    )


def _in_process(argv: list[str], env: dict) -> Result:
    from edge.cli import main

    with (
        _environment(env),
        _cwd(REPO),
        _no_pytest_logging(),
        _caught(1, "stdout") as out,
        _caught(2, "stderr") as err,
    ):
        try:
            code = main(argv)
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:
            traceback.print_exc()
            code = 1
    return Result(["anpr-edge", *argv], code, out.text, err.text)


@contextmanager
def _environment(env: dict) -> Iterator[None]:
    """`env` added to os.environ; a TZ among it is applied (time.tzset), as at a start."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update({name: str(value) for name, value in env.items()})
    if "TZ" in env:
        time.tzset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if "TZ" in env:
            time.tzset()


@contextmanager
def _cwd(folder) -> Iterator[None]:
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


@contextmanager
def _no_pytest_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class _Caught:
    text = ""


@contextmanager
def _caught(fd: int, name: str) -> Iterator[_Caught]:
    """File descriptor `fd` and sys.`name` both into one temporary file, then its text."""
    caught = _Caught()
    stream = getattr(sys, name)
    stream.flush()
    saved_fd = os.dup(fd)
    with tempfile.TemporaryFile() as file:
        os.dup2(file.fileno(), fd)
        wrapper = io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace"
        )
        setattr(sys, name, wrapper)
        try:
            yield caught
        finally:
            try:
                wrapper.flush()
            finally:
                setattr(sys, name, stream)
                os.dup2(saved_fd, fd)
                os.close(saved_fd)
                file.seek(0)
                caught.text = file.read().decode("utf-8", errors="replace")
