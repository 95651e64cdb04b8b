"""systemd/install.sh, run as a staged dry run (`--root`): it writes the real file tree (a venv
that runs the installed package, the config, the unit) and only prints what it would do to the
system (apt-get, useradd, systemctl, chown). Installing again keeps the operator's config and
changes nothing else; uninstalling keeps the config and the stored reads unless --purge.

Speed-up, test only: the staged venv is made from this .venv's Python and the package is installed
with `--no-deps --no-build-isolation --no-index`; its dependencies (and the build backend) come
from this .venv through PYTHONPATH instead of PyPI. A real install resolves them from PyPI.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import edge
from tests.support.paths import REPO

SCRIPT = Path("systemd") / "install.sh"
UNIT_SOURCE = REPO / "systemd" / "anpr-edge.service"
EXAMPLE = REPO / "firmware_config" / "unit.example.toml"
ENTRY = "/opt/anpr-edge/venv/bin/anpr-edge"
FAST_PIP = "--no-deps --no-build-isolation --no-index"
EDITED = "# edited on site\n"
COMPLETION = "usr/share/bash-completion/completions/anpr-edge"

Snapshot = dict[str, tuple[str, int, str]]


def snapshot(root: Path, *, skip_venv: bool = True) -> Snapshot:
    """Every path under `root`: kind, permission bits, and content hash or link target."""
    tree: Snapshot = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if skip_venv and rel.startswith("opt/anpr-edge/venv/"):
            continue
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            tree[rel] = ("link", 0, os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            tree[rel] = ("dir", stat.S_IMODE(info.st_mode), "")
        else:
            tree[rel] = ("file", stat.S_IMODE(info.st_mode), sha256(path))
    return tree


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_checkout(dest: Path) -> Path:
    """The parts of this checkout that pip and the script read, copied so that a test can add a
    bash completion without touching the real checkout."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "anpr-edge.bash-completion")
    for name in ("edge", "firmware_config", "systemd"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    (dest / "docs").mkdir()
    for doc in ("install.md", "operator-guide.md"):
        shutil.copy2(REPO / "docs" / doc, dest / "docs" / doc)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def dev_dependencies(dest: Path) -> Path:
    """This .venv's site-packages as links, without the editable anpr-edge, .pth hooks and pip:
    what the staged venv borrows through PYTHONPATH."""
    dest.mkdir()
    skip = ("anpr_edge", "_editable_impl_anpr_edge", "__editable__", "pip", "__pycache__")
    for site in {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}:
        for entry in site.iterdir():
            if entry.name.endswith(".pth") or entry.name.split("-")[0] in skip:
                continue
            if not (dest / entry.name).exists():
                (dest / entry.name).symlink_to(entry)
    return dest


@dataclass
class Stage:
    """A staging root, and what each run of the script printed and left there."""

    base: Path
    root: Path
    checkout: Path
    env: dict[str, str]
    out: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    trees: dict[str, Snapshot] = field(default_factory=dict)
    first_config: str = ""

    def run(self, step: str, *args: str) -> None:
        installing = "--uninstall" not in args
        if installing:
            args = ("--python", sys.executable, "--pip-args", FAST_PIP, *args)
        result = subprocess.run(
            ["bash", str(self.checkout / SCRIPT), "--root", str(self.root), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.base,
            timeout=900,
        )
        assert result.returncode == 0, f"{step}:\n{result.stdout}\n{result.stderr}"
        self.out[step] = result
        self.trees[step] = snapshot(self.root, skip_venv=installing)

    def lines(self, step: str) -> list[str]:
        return self.out[step].stdout.splitlines()

    def venv(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / "opt/anpr-edge/venv/bin" / program), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.base,
            timeout=120,
        )


def new_stage(tmp_path_factory, name: str) -> Stage:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    try:
        import hatchling  # noqa: F401  (the build backend, from the dev extra)
    except ImportError:
        pytest.fail("hatchling is missing from .venv (dev extra): run `make setup`")
    base = tmp_path_factory.mktemp(name)
    env = {**os.environ, "PYTHONPATH": str(dev_dependencies(base / "deps"))}
    return Stage(base, base / "root", make_checkout(base / "checkout"), env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Stage:
    """Installed; then the operator edits and adds files and it is installed twice more."""
    stage = new_stage(tmp_path_factory, "installed")
    stage.run("first")
    etc = stage.root / "etc/anpr-edge"
    stage.first_config = (etc / "unit.toml").read_text()
    # The operator edits the config (and leaves it open to all), adds a key, a TLS file and a
    # broker password; this checkout gains a bash completion.
    (etc / "unit.toml").write_text(stage.first_config + EDITED)
    (etc / "unit.toml").chmod(0o644)
    for name in ("keys/centre-2026.pub", "tls/unit.key", "tls/mqtt-password"):
        (etc / name).write_text(name)
        (etc / name).chmod(0o644)
    (stage.checkout / "systemd/anpr-edge.bash-completion").write_text("complete -F _a anpr-edge\n")
    stage.run("second")
    stage.run("third", "--start")
    return stage


@pytest.fixture(scope="module")
def removed(tmp_path_factory) -> Stage:
    """Installed, run by systemd (state written), uninstalled twice, then purged."""
    stage = new_stage(tmp_path_factory, "removed")
    stage.run("install")
    (stage.root / "etc/anpr-edge/unit.toml").write_text(EDITED)
    (stage.root / "var/lib/anpr-edge").mkdir(parents=True)  # StateDirectory=, made by systemd
    (stage.root / "var/lib/anpr-edge/anpr.db").write_text("reads")
    stage.run("uninstall", "--uninstall")
    stage.run("uninstall again", "--uninstall")
    stage.run("purge", "--uninstall", "--purge")
    return stage


def mode(tree: Snapshot, rel: str) -> int:
    assert rel in tree, f"{rel} is missing from the staged tree"
    return tree[rel][1]


def test_first_install_writes_the_tree_with_tight_modes(installed):
    tree = installed.trees["first"]
    assert tree["etc/systemd/system/anpr-edge.service"] == ("file", 0o644, sha256(UNIT_SOURCE))
    assert installed.first_config == EXAMPLE.read_text()
    assert mode(tree, "etc/anpr-edge/unit.toml") == 0o640
    assert mode(tree, "etc/anpr-edge") == 0o750
    assert mode(tree, "etc/anpr-edge/keys") == 0o750
    assert mode(tree, "etc/anpr-edge/tls") == 0o700
    assert mode(tree, "opt/anpr-edge") == 0o750
    under_etc = [rel for rel in tree if rel.startswith("etc/anpr-edge")]
    assert len(under_etc) == 4
    assert [rel for rel in under_etc if tree[rel][1] & 0o007] == [], "open to all users"
    assert tree["usr/local/bin/anpr-edge"] == ("link", 0, ENTRY)
    # The unit's ExecStart= is the entry point that the installer made.
    assert f"ExecStart={ENTRY} run" in UNIT_SOURCE.read_text()
    assert (installed.root / ENTRY.lstrip("/")).is_file()
    # Not in this checkout yet, and no optional secret yet: neither is installed.
    assert COMPLETION not in tree
    assert "etc/systemd/system/anpr-edge.service.d" not in tree
    # The state directory is systemd's (StateDirectory=), made when the service first starts.
    assert "var/lib/anpr-edge" not in tree


def test_the_staged_venv_runs_the_installed_package(installed):
    version = installed.venv("anpr-edge", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"anpr-edge {edge.__version__}"
    # the non-editable copy inside the staged venv, not this checkout
    where = installed.venv("python", "-c", "import edge; print(edge.__file__)")
    assert where.returncode == 0, where.stderr
    package = Path(where.stdout.strip()).parent
    site = installed.root / "opt/anpr-edge/venv/lib"
    assert package.is_relative_to(site) and package.parent.name == "site-packages"
    assert not list(package.parent.glob("*anpr_edge*.pth"))
    cfg = (installed.root / "opt/anpr-edge/venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg  # picamera2 comes from apt on a Pi
    check = installed.venv(
        # the file alone: the force's TLS files and the centre's keys come later
        "anpr-edge",
        "config",
        "check",
        str(installed.root / "etc/anpr-edge/unit.toml"),
        "--schema-only",
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_dry_run_prints_the_system_changes_instead_of_making_them(installed):
    lines, root = installed.lines("first"), installed.root
    for line in (
        "would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        "--no-install-recommends python3-venv python3-pip",
        f"would run: chown root:anpr-edge {root}/opt/anpr-edge",
        f"would run: chown root:anpr-edge {root}/etc/anpr-edge {root}/etc/anpr-edge/unit.toml",
        f"would run: chown -R root:root {root}/etc/anpr-edge/tls",
        "would run: systemctl daemon-reload",
        "would run: systemctl enable anpr-edge.service",
    ):
        assert line in lines
    useradd = [line for line in lines if line.startswith("would run: useradd")]
    assert len(useradd) == 1 and useradd[0].endswith(" anpr-edge")
    for option in ("--system", "--no-create-home", "--shell /usr/sbin/nologin", "--groups video"):
        assert option in useradd[0]
    # Enabled, never started without --start: the config needs the force's broker and keys.
    assert not [
        line for line in lines if line.startswith("would run: systemctl") and "start" in line
    ]


def test_installing_again_keeps_the_operators_config_and_puts_modes_right(installed):
    tree, etc = installed.trees["second"], installed.root / "etc/anpr-edge"
    assert (etc / "unit.toml").read_text() == installed.first_config + EDITED
    assert f"install.sh: keeping the existing {etc}/unit.toml" in installed.lines("second")
    assert mode(tree, "etc/anpr-edge/unit.toml") == 0o640
    assert mode(tree, "etc/anpr-edge/keys/centre-2026.pub") == 0o640
    assert mode(tree, "etc/anpr-edge/tls/unit.key") == 0o600
    assert mode(tree, "etc/anpr-edge/tls/mqtt-password") == 0o600
    assert f"would run: chown -R root:anpr-edge {etc}/keys" in installed.lines("second")
    dropin = installed.root / "etc/systemd/system/anpr-edge.service.d/credentials.conf"
    lines = dropin.read_text().splitlines()
    assert "[Service]" in lines
    assert "LoadCredential=mqtt-password:/etc/anpr-edge/tls/mqtt-password" in lines
    completion = installed.checkout / "systemd/anpr-edge.bash-completion"
    assert tree[COMPLETION] == ("file", 0o644, sha256(completion))


def test_a_third_install_changes_nothing_and_start_restarts(installed):
    assert installed.trees["third"] == installed.trees["second"]
    assert "would run: systemctl restart anpr-edge.service" in installed.lines("third")


def test_uninstall_keeps_config_and_stored_reads(removed):
    tree = removed.trees["uninstall"]
    for gone in (
        "etc/systemd/system/anpr-edge.service",
        "opt/anpr-edge",
        "usr/local/bin/anpr-edge",
        COMPLETION,
    ):
        assert gone not in tree
    assert ("etc/anpr-edge/unit.toml") in tree and "var/lib/anpr-edge/anpr.db" in tree
    assert mode(tree, "etc/anpr-edge/tls") == 0o700
    lines = removed.lines("uninstall")
    assert "would run: systemctl disable --now anpr-edge.service" in lines
    assert "would run: userdel anpr-edge" in lines
    assert removed.trees["uninstall again"] == tree


def test_purge_removes_config_and_state_too(removed):
    tree = removed.trees["purge"]
    assert {rel: entry for rel, entry in tree.items() if entry[0] != "dir"} == {}
    assert "etc/anpr-edge" not in tree and "var/lib/anpr-edge" not in tree


@pytest.mark.parametrize(
    "args", [["--purge"], ["--start", "--uninstall"], ["--no-such-option"], ["--root"]]
)
def test_bad_usage_exits_2_and_changes_nothing(tmp_path, args):
    result = subprocess.run(
        ["bash", str(REPO / SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("install.sh: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_install_script_is_shellcheck_clean():
    result = subprocess.run(
        ["shellcheck", str(REPO / SCRIPT)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout
