#!/usr/bin/env bash
# Install anpr-edge as a hardened systemd service on Raspberry Pi OS or Debian (bookworm):
#
#   sudo systemd/install.sh            # or: sudo make install
#   sudo systemd/install.sh --start    # ... and (re)start the service
#   sudo systemd/install.sh --uninstall [--purge]
#
# What it sets up (docs/install.md has the whole procedure and a table of every path):
#   - Debian packages python3-venv and python3-pip; on a Raspberry Pi also python3-picamera2, which
#     comes from the Raspberry Pi apt repository (not PyPI, not Debian), seen by the venv through
#     --system-site-packages;
#   - the system user anpr-edge (no login shell, no home, in group video);
#   - the application, pip-installed (not editable) from this checkout into /opt/anpr-edge/venv,
#     with /usr/local/bin/anpr-edge linked to it;
#   - /etc/anpr-edge/unit.toml (from firmware_config/unit.example.toml, only if absent: an
#     operator's config is never overwritten), /etc/anpr-edge/keys/ for the hotlist public keys,
#     /etc/anpr-edge/tls/ (root only) for the files systemd hands over with LoadCredential=;
#   - /etc/systemd/system/anpr-edge.service, enabled but not started: the config needs the
#     force's broker and keys first. /var/lib/anpr-edge is made by systemd (StateDirectory=).
# Running it again re-installs the package and puts modes and owners right; nothing else changes.
#
# --root DIR stages the whole tree under DIR instead (a dry run for tests): files are written there,
# while apt-get, useradd/userdel, systemctl and chown are only printed as "would run: ...".
set -euo pipefail
umask 022

usage() {
  cat <<'EOF'
usage: sudo systemd/install.sh [--start] [--root DIR] [--python PY] [--pip-args ARGS]
       sudo systemd/install.sh --uninstall [--purge] [--root DIR]

  --start         start (or restart) anpr-edge.service after installing
  --uninstall     remove the service, /opt/anpr-edge, the completion and the user anpr-edge;
                  keeps /etc/anpr-edge and /var/lib/anpr-edge
  --purge         with --uninstall: also delete /etc/anpr-edge and /var/lib/anpr-edge (the stored
                  reads: personal data)
  --root DIR      stage everything under DIR; print instead of run apt-get, useradd, userdel,
                  systemctl and chown (no root needed)
  --python PY     the Python (3.11 or newer) that makes the venv (default /usr/bin/python3)
  --pip-args ARGS extra options for pip install, split on spaces, e.g. an offline install:
                  --pip-args "--no-index --find-links /media/usb/wheels"
EOF
}

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT="" PYTHON=/usr/bin/python3 PIP_ARGS="" START=0 UNINSTALL=0 PURGE=0
while [ $# -gt 0 ]; do
  case $1 in
    --root | --python | --pip-args)
      [ $# -ge 2 ] || { echo "install.sh: $1 needs a value" >&2; usage >&2; exit 2; }
      case $1 in
        --root) ROOT=$2 ;;
        --python) PYTHON=$2 ;;
        --pip-args) PIP_ARGS=$2 ;;
      esac
      shift ;;
    --start) START=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
  echo "install.sh: --purge goes with --uninstall" >&2; exit 2
fi
if [ "$START" = 1 ] && [ "$UNINSTALL" = 1 ]; then
  echo "install.sh: --start does not go with --uninstall" >&2; exit 2
fi
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" != / ] || die "--root / is the real system: leave --root out"
elif [ "$(id -u)" -ne 0 ]; then
  die "run it as root: sudo systemd/install.sh"
fi

# Every path as on the target system, prefixed by the staging root (empty for a real install).
OPT=$ROOT/opt/anpr-edge
VENV=$OPT/venv
ETC=$ROOT/etc/anpr-edge
STATE=$ROOT/var/lib/anpr-edge
UNIT=$ROOT/etc/systemd/system/anpr-edge.service
DROPIN=$UNIT.d/credentials.conf
LINK=$ROOT/usr/local/bin/anpr-edge
COMPLETION=$ROOT/usr/share/bash-completion/completions/anpr-edge
COMPLETION_SRC=$SRC/systemd/anpr-edge.bash-completion
ENTRY=/opt/anpr-edge/venv/bin/anpr-edge  # ExecStart= of the unit; the link points here too

# A change outside the file tree: run it, or in a staging root only show it.
run() {
  if [ -n "$ROOT" ]; then
    printf 'would run:'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

PI=0
if grep -qas 'Raspberry Pi' /proc/device-tree/model; then PI=1; fi

install_packages() {
  local wanted=(python3-venv python3-pip) missing=() pkg
  # picamera2 and libcamera's Python bindings are built by Raspberry Pi for its OS.
  if [ "$PI" = 1 ]; then wanted+=(python3-picamera2); fi
  for pkg in "${wanted[@]}"; do
    if [ -n "$ROOT" ] || ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'
    then missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing Debian packages: ${missing[*]}"
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

create_user() {
  local options=(--system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin
    --groups video --comment "anpr-edge roadside ANPR service")
  if [ -n "$ROOT" ]; then run useradd "${options[@]}" --user-group anpr-edge; return; fi
  if ! getent passwd anpr-edge >/dev/null; then
    if getent group anpr-edge >/dev/null; then options+=(--gid anpr-edge); else options+=(--user-group); fi
    useradd "${options[@]}" anpr-edge
    say "created the system user anpr-edge"
  fi
  id -nG anpr-edge | grep -qw video || usermod --append --groups video anpr-edge
}

install_app() {
  install -d -m 0750 "$OPT"
  run chown root:anpr-edge "$OPT"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  fi
  say "installing anpr-edge from $SRC into $VENV"
  # shellcheck disable=SC2086  # PIP_ARGS is a list of options: split on purpose
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off $PIP_ARGS "$SRC"
  if [ "$PI" = 1 ]; then
    # The apt simplejpeg that picamera2 imports is built against Debian's numpy 1.x; the venv has
    # numpy 2 (OpenCV needs it). simplejpeg from PyPI (>= 1.8) is built for numpy 2 and shadows it.
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off $PIP_ARGS \
      'simplejpeg>=1.8'
  fi
  install -m 0644 "$SRC/README.md" "$OPT/README.md"
  install -m 0644 "$SRC/docs/install.md" "$OPT/install.md"
  install -m 0644 "$SRC/docs/operator-guide.md" "$OPT/operator-guide.md"
  install -d -m 0755 "$(dirname "$LINK")"
  [ "$(readlink "$LINK" 2>/dev/null)" = "$ENTRY" ] || ln -sfn "$ENTRY" "$LINK"
}

install_config() {
  install -d -m 0750 "$ETC" "$ETC/keys"
  install -d -m 0700 "$ETC/tls"
  if [ -e "$ETC/unit.toml" ]; then
    say "keeping the existing $ETC/unit.toml"
  else
    install -m 0640 "$SRC/firmware_config/unit.example.toml" "$ETC/unit.toml"
    say "wrote $ETC/unit.toml from firmware_config/unit.example.toml: edit it for this site"
  fi
  # Whatever an operator copied in: the service reads the config and the keys through its group;
  # the TLS files only systemd reads (LoadCredential=), as root.
  chmod 0640 "$ETC/unit.toml"
  find "$ETC/keys" -type f -exec chmod 0640 {} +
  find "$ETC/tls" -type f -exec chmod 0600 {} +
  run chown root:anpr-edge "$ETC" "$ETC/unit.toml"
  run chown -R root:anpr-edge "$ETC/keys"
  run chown -R root:root "$ETC/tls"
}

install_unit() {
  install -d -m 0755 "$(dirname "$UNIT")"
  install -m 0644 "$SRC/systemd/anpr-edge.service" "$UNIT"
  # Optional secrets become credentials when their files exist (a unit cannot load a missing one).
  local credentials=() name
  for name in mqtt-password mqtt-key-passphrase; do
    if [ -e "$ETC/tls/$name" ]; then credentials+=("LoadCredential=$name:/etc/anpr-edge/tls/$name"); fi
  done
  if [ ${#credentials[@]} -gt 0 ]; then
    install -d -m 0755 "$(dirname "$DROPIN")"
    printf '# Written by systemd/install.sh from the files in /etc/anpr-edge/tls.\n[Service]\n%s\n' \
      "${credentials[@]}" >"$DROPIN"
    chmod 0644 "$DROPIN"
  elif [ -e "$DROPIN" ]; then
    rm -f "$DROPIN"
    rmdir "$(dirname "$DROPIN")" 2>/dev/null || true
  fi
  if [ -f "$COMPLETION_SRC" ]; then
    install -D -m 0644 "$COMPLETION_SRC" "$COMPLETION"
  else
    say "no systemd/anpr-edge.bash-completion in this checkout: no bash completion installed"
    rm -f "$COMPLETION"
  fi
  run systemctl daemon-reload
  run systemctl enable anpr-edge.service
}

check_picamera2() {
  [ "$PI" = 1 ] || return 0
  "$VENV/bin/python" -c 'import picamera2' || die "installed, but picamera2 does not import in \
$VENV (above): the camera cannot work. Is python3-picamera2 from the Raspberry Pi repository installed?"
}

uninstall() {
  if [ -n "$ROOT" ] || [ -e "$UNIT" ]; then run systemctl disable --now anpr-edge.service; fi
  rm -f "$UNIT" "$DROPIN"
  rmdir "$UNIT.d" 2>/dev/null || true
  run systemctl daemon-reload
  rm -rf "$OPT" "$COMPLETION"
  if [ "$(readlink "$LINK" 2>/dev/null)" = "$ENTRY" ]; then rm -f "$LINK"; fi
  if [ -n "$ROOT" ] || getent passwd anpr-edge >/dev/null; then run userdel anpr-edge; fi
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ETC" "$STATE"
    say "removed anpr-edge, its configuration and its stored reads"
  else
    say "removed anpr-edge; kept $ETC and $STATE (--uninstall --purge deletes them)"
  fi
}

if [ "$UNINSTALL" = 1 ]; then uninstall; exit 0; fi

install_packages
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$PYTHON is older than Python 3.11"
create_user
install_app
install_config
install_unit
check_picamera2
say "installed $("$VENV/bin/anpr-edge" --version)"
if [ "$START" = 1 ]; then
  run systemctl restart anpr-edge.service
elif [ -z "$ROOT" ] && systemctl is-active --quiet anpr-edge.service; then
  say "anpr-edge is running the old version: sudo systemctl restart anpr-edge"
else
  say "enabled, not started. Next: the TLS files, the keys and unit.toml (docs/install.md), then"
  say "  sudo anpr-edge config check /etc/anpr-edge/unit.toml && sudo systemctl start anpr-edge"
fi
