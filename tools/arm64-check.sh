#!/usr/bin/env bash
# `make arm64-check`: install and run the unit on the Raspberry Pi's own architecture (arm64,
# Debian bookworm like Raspberry Pi OS) in a root emulated with qemu-user-static, on an x86_64
# machine. docs/arm64-check.md says what it checks, what it cannot, and holds the last result.
#
#   sudo tools/arm64-check.sh            # prints a summary; exit 0 when every required step passed
#   sudo tools/arm64-check.sh --record   # ... and writes it into docs/arm64-check.md
#
# The root: a debootstrap'd arm64 bookworm (minbase + python3, python3-venv, python3-pip,
# ca-certificates) cached in $ARM64_CHECK_CACHE/arm64-bookworm (built into a .partial folder and
# renamed when absent, ~30 min under load), never modified: each run mounts an overlay on it (or,
# without overlayfs, copies it) and throws the writable layer away. pip's and apt's download
# caches are kept between runs; everything else (systemd, the installer's packages, the venv)
# is installed afresh each run, as on a new Pi.
#
# Needs root, qemu-user-static + binfmt-support with qemu-aarch64 enabled, debootstrap (only to
# build the root), mosquitto + mosquitto-clients and .venv on the host (`make setup`).
# Environment:
#   ARM64_CHECK_CACHE   cache folder (default /var/cache/anpr-edge)
#   ARM64_CHECK_WORK    where each run's root and logs go (default /var/tmp/anpr-edge-arm64)
#   ARM64_CHECK_MIRROR  Debian mirror for debootstrap and apt (default http://deb.debian.org/debian)
#   ARM64_CHECK_FRAMES  frames of the synthetic road for `anpr-edge run` (default 300)
#   ARM64_CHECK_TESTS   test files for the fast subset, or "none" (default: see TESTS below)
#   ARM64_CHECK_SOURCE  worktree (default: tracked and untracked, not ignored, files) or head
#   ARM64_CHECK_KEEP=1  keep the run's root (unmounted layer) for a look afterwards
set -euo pipefail
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ARM64_CHECK_CACHE:-/var/cache/anpr-edge}
WORKDIR=${ARM64_CHECK_WORK:-/var/tmp/anpr-edge-arm64}
MIRROR=${ARM64_CHECK_MIRROR:-http://deb.debian.org/debian}
FRAMES=${ARM64_CHECK_FRAMES:-300}
SOURCE_MODE=${ARM64_CHECK_SOURCE:-worktree}
BASE=$CACHE/arm64-bookworm
HOST_VENV=$REPO/.venv
HELPER=tests/arm64/arm64_check.py
# The fast subset: the real models (accuracy on fresh synthetic scenes), decoding, config,
# hotlist bundles (Ed25519), tracking, the store, MQTT publishing and TLS against a real
# Mosquitto, the systemd unit. About 6 minutes under emulation; the whole suite would take hours.
TESTS=${ARM64_CHECK_TESTS:-tests/vision/test_models.py tests/vision/test_decoding.py
  tests/config/test_config.py tests/test_dataset.py tests/hotlist/test_bundle.py
  tests/hotlist/matching/test_trust.py tests/track/test_tracking.py tests/store/test_reads.py
  tests/uplink/test_publisher.py tests/system/test_broker_fixture.py
  tests/system/test_systemd_unit.py tests/ops/test_credentials.py tests/hotlist/sync/test_tls.py}
# The Pi models whose CPU the emulator presents (QEMU_CPU) and whose /proc/cpuinfo the root sees.
PI4_CPU=cortex-a72 PI5_CPU=cortex-a76

RECORD=0
case ${1:-} in
  --record) RECORD=1 ;;
  "") ;;
  -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "arm64-check: unknown option: $1 (--record, --help)" >&2; exit 2 ;;
esac

die() { echo "arm64-check: $*" >&2; exit 1; }
say() { echo "arm64-check: $*"; }
[ "$(id -u)" -eq 0 ] || die "needs root (chroot, mount): sudo make arm64-check"
# The CPU is shared: everything below runs at low priority.
renice -n 10 -p $$ >/dev/null
ionice -c 3 -p $$ 2>/dev/null || true

# --- host prerequisites ---------------------------------------------------------------------
BINFMT=/proc/sys/fs/binfmt_misc/qemu-aarch64
if [ ! -e "$BINFMT" ] || ! head -1 "$BINFMT" | grep -q enabled; then
  die "qemu-aarch64 is not registered with binfmt_misc: apt-get install qemu-user-static \
binfmt-support; mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64"
fi
QEMU_FIXED=0  # flag F: the kernel holds the emulator open, so the root needs no copy of it
grep -q '^flags:.*F' "$BINFMT" && QEMU_FIXED=1
QEMU_STATIC=$(command -v qemu-aarch64-static || true)
[ "$QEMU_FIXED" = 1 ] || [ -n "$QEMU_STATIC" ] || die "qemu-aarch64-static not found"
MOSQUITTO=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null || true)
if [ -z "$MOSQUITTO" ] || ! command -v mosquitto_sub >/dev/null; then
  die "mosquitto and mosquitto_sub are needed on the host: make setup"
fi
[ -x "$HOST_VENV/bin/anpr-edge" ] || die "no $HOST_VENV (the x86_64 reference): make setup"

# --- one run's folders; everything is undone on exit -----------------------------------------
STARTED=$(date +%s)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$WORKDIR/$STAMP
ROOT=$RUN/root
LOGS=$RUN/logs
HOSTSIDE=$RUN/host  # x86_64 reference outputs
mkdir -p "$ROOT" "$LOGS" "$HOSTSIDE" "$CACHE/pip-arm64" "$CACHE/apt-arm64/partial"
ln -sfn "$RUN" "$WORKDIR/latest"
# the logs of the last five runs are kept
for old in $(find "$WORKDIR" -mindepth 1 -maxdepth 1 -type d -name '2*' | sort | head -n -5); do
  if ! awk -v p="$old/" 'index($2, p) == 1 {found = 1} END {exit !found}' /proc/self/mounts; then
    rm -rf "$old"
  fi
done
PIDS=$RUN/pids  # host processes this script started (mosquitto, mosquitto_sub), by id

mounted_under() { awk -v p="$1" '$2 == p || index($2, p "/") == 1 {print $2}' /proc/self/mounts; }

unmount_all() {  # every mount at or under $1, deepest first (the root may be a copy, not a mount)
  local mount
  for mount in $(mounted_under "$1" | awk '{print length($0), $0}' | sort -rn | cut -d' ' -f2-); do
    umount "$mount" 2>/dev/null || { sleep 1; umount "$mount" 2>/dev/null; } \
      || umount -l "$mount" 2>/dev/null || true
  done
}

cleanup() {
  local code=$? pid
  trap - EXIT INT TERM
  if [ -f "$PIDS" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$PIDS"
  fi
  # Processes still inside the root (a step interrupted) were started by this script: end them.
  for pid in /proc/[0-9]*; do
    if [ "$(readlink "$pid/root" 2>/dev/null)" = "$ROOT" ]; then
      kill -9 "${pid#/proc/}" 2>/dev/null || true
    fi
  done
  unmount_all "$ROOT"
  if [ -n "$(mounted_under "$ROOT")" ]; then
    echo "arm64-check: could not unmount everything under $ROOT; left in place:" >&2
    mounted_under "$ROOT" >&2
  elif [ "${ARM64_CHECK_KEEP:-0}" != 1 ]; then
    rm -rf "$ROOT" "$RUN/upper" "$RUN/overlay-work"  # the logs stay
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- steps: each PASS, FAIL or SKIP, timed, with a note; required ones decide the exit code ---
NAMES=() RESULTS=() TIMES=() NOTES=() REQUIRED=()
NOTE=""
step() {  # step NAME required|info FUNCTION
  local name=$1 need=$2 fn=$3 begin result code log
  log=$LOGS/$(printf '%02d' "${#NAMES[@]}")-$fn.log
  NOTE=""
  say "== $name"
  begin=$(date +%s)
  set +e
  ( set -e; "$fn" ) >"$log" 2>&1
  code=$?
  set -e
  [ -f "$RUN/note" ] && NOTE=$(cat "$RUN/note") && rm -f "$RUN/note"
  case $code in
    0) result=PASS ;;
    3) result=SKIP ;;
    *) result=FAIL ;;
  esac
  NAMES+=("$name") RESULTS+=("$result") TIMES+=($(($(date +%s) - begin))) NOTES+=("$NOTE")
  REQUIRED+=("$need")
  say "   $result in $(($(date +%s) - begin)) s${NOTE:+: $NOTE}"
  if [ "$result" = FAIL ]; then
    echo "---- last lines of $log" && tail -n 25 "$log" && echo "----"
  fi
  [ "$result" != FAIL ]
}
note() { printf '%s' "$*" >"$RUN/note"; }

# A command inside the root: root user, a clean environment, the Pi 4's CPU unless QEMU_CPU is
# given. SYSTEMD_OFFLINE=1: systemd is installed but not running (systemctl then works on files
# and ignores daemon-reload, as in a chroot it recognises).
QEMU_CPU=$PI4_CPU
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive SYSTEMD_OFFLINE=1 QEMU_CPU="$QEMU_CPU" \
    /bin/bash -euo pipefail -c "$1"
}

cpuinfo() {  # cpuinfo pi4|pi5: a Raspberry Pi's /proc/cpuinfo with the host's number of CPUs
  local i n part variant revision features model
  n=$(nproc --all)
  if [ "$1" = pi4 ]; then
    part=0xd08 variant=0x0 revision=3 model="Raspberry Pi 4 Model B Rev 1.4"
    features="fp asimd evtstrm crc32 cpuid"
  else
    part=0xd0b variant=0x4 revision=1 model="Raspberry Pi 5 Model B Rev 1.0"
    features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
  fi
  for ((i = 0; i < n; i++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n' "$i" "$features"
    printf 'CPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$variant" "$part" "$revision"
  done
  printf 'Revision\t: %s\nModel\t\t: %s\n' "$([ "$1" = pi4 ] && echo d03114 || echo d04170)" "$model"
}

use_pi() {  # use_pi pi4|pi5: the emulated CPU and the /proc/cpuinfo the root sees
  if [ "$1" = pi4 ]; then QEMU_CPU=$PI4_CPU; else QEMU_CPU=$PI5_CPU; fi
  if [ -n "$(mounted_under "$ROOT/proc/cpuinfo")" ]; then umount "$ROOT/proc/cpuinfo"; fi
  mount --bind "$RUN/cpuinfo-$1" "$ROOT/proc/cpuinfo"
}

# --- the steps ------------------------------------------------------------------------------
base_root() {
  if [ -x "$BASE/usr/bin/python3" ]; then
    note "reused $BASE ($(du -sh "$BASE" | cut -f1), built $(date -r "$BASE" -u +%Y-%m-%d))"
    return 0
  fi
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed"; return 1; }
  local partial=$BASE.partial
  if [ -e "$partial" ]; then
    [ -z "$(mounted_under "$partial")" ] || umount -R "$partial"
    rm -rf "$partial"
  fi
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$partial" "$MIRROR" \
    | tee "$CACHE/debootstrap.log"
  [ -z "$(mounted_under "$partial")" ] || umount -R "$partial"
  mv "$partial" "$BASE"
  note "built $BASE with debootstrap"
}

work_root() {
  mkdir -p "$RUN/upper" "$RUN/overlay-work"
  if mount -t overlay overlay \
    -o "lowerdir=$BASE,upperdir=$RUN/upper,workdir=$RUN/overlay-work" "$ROOT"; then
    note "overlay on the cached base (base untouched)"
  else
    cp -a "$BASE/." "$ROOT/"
    note "copy of the cached base (no overlayfs here)"
  fi
  [ "$QEMU_FIXED" = 1 ] || install -m 0755 "$QEMU_STATIC" "$ROOT/usr/bin/qemu-aarch64-static"
  mount -t proc proc "$ROOT/proc"
  mount -t sysfs sysfs "$ROOT/sys"
  mount --rbind /dev "$ROOT/dev"
  mount --make-rslave "$ROOT/dev"
  # qemu-user shows the host's x86 /proc/cpuinfo; LiteRT's CPU detection (cpuinfo) reads it with
  # /sys and crashes on it, or, without /sys, gives up and runs without XNNPACK. A Pi's cpuinfo
  # plus QEMU_CPU set to the Pi's core makes it pick the kernels a Pi would.
  cpuinfo pi4 >"$RUN/cpuinfo-pi4"
  cpuinfo pi5 >"$RUN/cpuinfo-pi5"
  use_pi pi4
  # Networking for apt and pip: the host's resolver and CA bundle (this host's proxy CA is in it).
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$ROOT/root/.cache/pip"
  rm -rf "$CACHE/pip-arm64/wheels"  # only downloads are reused: anything built is built afresh
  mount --bind "$CACHE/pip-arm64" "$ROOT/root/.cache/pip"
  mount --bind "$CACHE/apt-arm64" "$ROOT/var/cache/apt/archives"
  in_root 'uname -m; cat /etc/debian_version; python3 --version'
}

pi_os_like() {
  # Raspberry Pi OS runs systemd (the installer enables a unit with systemctl); a Pi image has
  # no compiler; python3-venv and python3-pip are taken away so the installer installs them.
  in_root 'apt-get update -qq
    apt-get install -y -qq --no-install-recommends systemd >/dev/null
    apt-get remove -y -qq python3-pip python3-venv python3.11-venv >/dev/null
    systemctl --version | head -1
    if command -v cc gcc; then echo "a compiler is installed: not like a Pi image"; exit 1; fi'
  note "systemd installed (not running), python3-venv/python3-pip removed, no compiler"
}

copy_clone() {
  mkdir -p "$ROOT/root/anpr-edge"
  if [ "$SOURCE_MODE" = head ]; then
    git -C "$REPO" archive HEAD | tar -x -C "$ROOT/root/anpr-edge"
  else
    git -C "$REPO" ls-files -co --exclude-standard -z \
      | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$ROOT/root/anpr-edge"
  fi
}

install_unit() {
  copy_clone
  # docs/install.md §2, as root (the technician runs it with sudo) from the clone.
  in_root 'cd /root/anpr-edge && systemd/install.sh' | tee "$RUN/install.out"
  local built
  built=$(grep -E '^ *Building wheel for ' "$RUN/install.out" | grep -vc 'anpr-edge' || true)
  [ "$built" = 0 ] || { echo "pip built $built package(s) from source: a Pi has no compiler"; return 1; }
  # "Where everything lives" in install.md: owners, modes, links, the user, the venv
  # shellcheck disable=SC2016  # expanded inside the root
  in_root 'cd / && stat -c "%a %U:%G %n" /opt/anpr-edge /opt/anpr-edge/venv /etc/anpr-edge \
      /etc/anpr-edge/unit.toml /etc/anpr-edge/keys /etc/anpr-edge/tls \
      /etc/systemd/system/anpr-edge.service /usr/share/bash-completion/completions/anpr-edge \
      | tee /tmp/modes
    printf "%s\n" "750 root:anpr-edge /opt/anpr-edge" "755 root:root /opt/anpr-edge/venv" \
      "750 root:anpr-edge /etc/anpr-edge" "640 root:anpr-edge /etc/anpr-edge/unit.toml" \
      "750 root:anpr-edge /etc/anpr-edge/keys" "700 root:root /etc/anpr-edge/tls" \
      "644 root:root /etc/systemd/system/anpr-edge.service" \
      "644 root:root /usr/share/bash-completion/completions/anpr-edge" | diff - /tmp/modes
    ls /opt/anpr-edge | tee /tmp/opt
    printf "%s\n" README.md install.md operator-guide.md venv | diff - /tmp/opt
    test "$(readlink /usr/local/bin/anpr-edge)" = /opt/anpr-edge/venv/bin/anpr-edge
    getent passwd anpr-edge | tee /tmp/passwd
    grep -q ":/nonexistent:/usr/sbin/nologin$" /tmp/passwd
    id -nG anpr-edge | grep -qw video
    test -L /etc/systemd/system/multi-user.target.wants/anpr-edge.service
    grep -q "include-system-site-packages = true" /opt/anpr-edge/venv/pyvenv.cfg
    /opt/anpr-edge/venv/bin/python -c "import sys; assert \"/usr/lib/python3/dist-packages\" in sys.path, sys.path"'
  note "install.sh (apt python3-venv python3-pip, user, venv --system-site-packages, pip wheels only, config, unit enabled offline)"
}

pi_only_pip() {
  # What install.sh adds on a Pi (it reads /proc/device-tree/model, absent here): simplejpeg
  # for apt's picamera2 under the venv's numpy 2. Same command; it must be a wheel (no compiler).
  in_root '/opt/anpr-edge/venv/bin/python -m pip install --disable-pip-version-check \
      --progress-bar off "simplejpeg>=1.8" | tee /tmp/simplejpeg.out
    ! grep -q "Building wheel for simplejpeg" /tmp/simplejpeg.out
    /opt/anpr-edge/venv/bin/python -c "import simplejpeg, numpy; print(\"simplejpeg\", simplejpeg.__version__, \"numpy\", numpy.__version__)"'
  note "the Pi-only pip step of install.sh, run by hand: simplejpeg>=1.8 installs as an aarch64 wheel and imports"
}

picamera2() {
  # python3-picamera2 (and libcamera's bindings) come from Raspberry Pi's own apt repository,
  # which is not configured here: say so rather than pretend.
  in_root 'cat /etc/apt/sources.list
    if apt-cache show python3-picamera2 >/dev/null 2>&1; then exit 1; fi
    echo "apt: no package python3-picamera2 in these repositories"' \
    || { note "python3-picamera2 is available here, unexpectedly"; return 1; }
  note "not installable: python3-picamera2 is in Raspberry Pi's apt repository, not Debian; camera.source=picamera2 is not exercised"
  return 3
}

versions() {
  in_root "/opt/anpr-edge/venv/bin/python /root/anpr-edge/$HELPER versions" | tee "$RUN/versions.json"
  note "$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(", ".join(f"{k} {v[k]}" for k in ("machine","python","numpy","ai-edge-litert","opencv","paho-mqtt")))' "$RUN/versions.json")"
}

version_cmd() {
  local got want
  got=$(in_root 'anpr-edge --version')
  want=$("$HOST_VENV/bin/anpr-edge" --version)
  echo "arm64: $got; x86_64 .venv: $want"
  note "$got"
  [ "$got" = "$want" ]
}

config_check() {
  # --schema-only: the force's TLS files and the centre's keys are not in the emulated root
  in_root 'cd /root/anpr-edge && anpr-edge config check firmware_config/unit.example.toml --schema-only
    anpr-edge config check /etc/anpr-edge/unit.toml --schema-only'
  note "firmware_config/unit.example.toml and the installed /etc/anpr-edge/unit.toml: valid (schema)"
}

check_config() {  # the unit for selftest and run: synthetic road, broker on the host's loopback
  install -d -m 0700 "$ROOT/root/arm64-check" "$ROOT/root/arm64-check/state"
  cat >"$ROOT/root/arm64-check/unit.toml" <<EOF
# tools/arm64-check.sh: the unit in the emulated root (synthetic road, plain MQTT on loopback)
[unit]
id = "arm64-check"
site = "emulated arm64 root"
[camera]
source = "synthetic"
resolution = [1456, 1088]
fps = 15.0
seed = 1
look = "mixed"
[hotlist]
lists = ["demo"]
trusted_keys = ["/root/arm64-check/keys/centre-a.pub", "/root/arm64-check/keys/centre-b.pub"]
[mqtt]
host = "127.0.0.1"
port = $PORT
tls = { enabled = false }
connect_timeout_s = 5.0
[storage]
path = "/root/arm64-check/state/anpr.db"
quota_mb = 64
[health]
interval_s = 5.0
status_file = "/root/arm64-check/state/status.json"
EOF
  chmod 0640 "$ROOT/root/arm64-check/unit.toml"
}

selftest() {
  check_config
  # the demo keys and a signed demo hotlist, as `make demo` makes them (tools/demo.sh)
  in_root 'cd /root/arm64-check && /opt/anpr-edge/venv/bin/python -m edge.devtools.demo --config unit.toml'
  set +e
  in_root 'anpr-edge selftest --config /root/arm64-check/unit.toml --json' >"$RUN/selftest.json"
  echo "selftest exit code $? (1 expected: no broker)"
  set -e
  local synced
  synced=$("$HOST_VENV/bin/python" "$REPO/$HELPER" clock)
  "$HOST_VENV/bin/python" "$REPO/$HELPER" selftest "$RUN/selftest.json" "$synced" | tee "$RUN/selftest.txt"
  note "$(tail -1 "$RUN/selftest.txt")"
}

host_reference() {
  local images=$HOSTSIDE/images
  "$HOST_VENV/bin/anpr-edge" synth --out "$images" --count 5 --seed 99
  "$HOST_VENV/bin/anpr-edge" recognise "$images"/*.jpg --json >"$HOSTSIDE/recognise.json"
  "$HOST_VENV/bin/python" "$REPO/$HELPER" probe-save "$images" "$HOSTSIDE/probe"
  mkdir -p "$ROOT/root/arm64-check/images" "$ROOT/root/arm64-check/probe"
  cp "$images"/* "$ROOT/root/arm64-check/images/"
  cp "$HOSTSIDE/probe"/* "$ROOT/root/arm64-check/probe/"
  note "5 synthetic images (synth --seed 99) read on x86_64; model inputs and output digests saved"
}

recognise_on() {  # recognise_on pi4|pi5
  local pi=$1 title
  title="arm64 ($([ "$pi" = pi4 ] && echo "Pi 4 CPU, $PI4_CPU" || echo "Pi 5 CPU, $PI5_CPU"))"
  use_pi "$pi"
  in_root 'anpr-edge recognise /root/arm64-check/images/*.jpg --json' >"$RUN/recognise-$pi.json"
  set +e
  in_root "/opt/anpr-edge/venv/bin/python /root/anpr-edge/$HELPER probe-compare \
    /root/arm64-check/images /root/arm64-check/probe" | tee "$RUN/probe-$pi.json"
  local probe=$?
  "$HOST_VENV/bin/python" "$REPO/$HELPER" plates "$HOSTSIDE/recognise.json" \
    "$RUN/recognise-$pi.json" "$HOSTSIDE/images/labels.csv" "$title" | tee "$RUN/plates-$pi.md"
  local plates=$?
  set -e
  use_pi pi4
  note "$(tail -1 "$RUN/plates-$pi.md"); $("$HOST_VENV/bin/python" "$REPO/$HELPER" \
    probe-summary "$RUN/probe-$pi.json" 2>/dev/null || echo "the model probe failed")"
  [ "$probe" = 0 ] && [ "$plates" = 0 ]
}
recognise_pi4() { recognise_on pi4; }
recognise_pi5() { recognise_on pi5; }

run_unit() {
  local conf=/root/arm64-check/unit.toml
  # the broker: a Mosquitto on the host's loopback, which the root shares
  cat >"$RUN/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
log_dest stderr
EOF
  "$MOSQUITTO" -c "$RUN/mosquitto.conf" 2>"$RUN/mosquitto.log" &
  local broker=$!
  echo "$broker" >>"$PIDS"
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
  mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -v -t 'anpr/v1/units/#' >"$RUN/subscriber.txt" &
  local sub=$!
  echo "$sub" >>"$PIDS"
  sleep 1
  # a fresh store and hotlist; frames as fast as they are read, so that road time is frame
  # count / fps whatever the emulator's speed, and x86_64 can read exactly the same frames
  in_root "cd /root/arm64-check && rm -rf state && mkdir -m 0700 state
    /opt/anpr-edge/venv/bin/python -m edge.devtools.demo --config unit.toml >/dev/null
    anpr-edge run --config $conf --source synthetic:paced=false --max-frames $FRAMES --json \
      >/root/arm64-check/run.json
    anpr-edge reads --config $conf --limit 100000 --json >/root/arm64-check/reads.json"
  sleep 2  # the last messages reach the subscriber
  kill "$sub" "$broker" 2>/dev/null || true
  wait "$sub" "$broker" 2>/dev/null || true
  cp "$ROOT/root/arm64-check/run.json" "$ROOT/root/arm64-check/reads.json" "$RUN/"
  # the same frames on x86_64 (no broker: reads are stored, not delivered)
  local host=$HOSTSIDE/run
  install -d -m 0700 "$host" "$host/state"
  sed -e "s#/root/arm64-check#$host#g" -e "s/^port = .*/port = 9/" \
    "$ROOT/root/arm64-check/unit.toml" >"$host/unit.toml"
  cp -r "$ROOT/root/arm64-check/keys" "$host/"
  (cd "$host" && "$HOST_VENV/bin/python" -m edge.devtools.demo --config unit.toml >/dev/null \
    && "$HOST_VENV/bin/anpr-edge" run --config unit.toml --source synthetic:paced=false \
      --max-frames "$FRAMES" --json >run.json 2>run.log \
    && "$HOST_VENV/bin/anpr-edge" reads --config unit.toml --limit 100000 --json >reads.json) \
    || echo "x86_64 reference run failed (information only)"
  local x86=()
  [ -s "$host/reads.json" ] && x86=("$host/reads.json")
  "$HOST_VENV/bin/python" "$REPO/$HELPER" run "$RUN/run.json" "$RUN/reads.json" \
    "$RUN/subscriber.txt" "${x86[@]}" | tee "$RUN/run.md"
  note "$(head -1 "$RUN/run.md")"
}

test_subset() {
  [ "$TESTS" != none ] || { note "ARM64_CHECK_TESTS=none"; return 3; }
  # the development setup of the README (tools/bootstrap.sh: Debian packages and .venv), then
  # pytest on the subset, against a Mosquitto inside the root
  in_root 'cd /root/anpr-edge && tools/bootstrap.sh'
  set +e
  in_root "cd /root/anpr-edge && .venv/bin/pytest -q -p no:cacheprovider ${TESTS//$'\n'/ }" \
    | tee "$RUN/pytest.txt"
  local code=$?
  set -e
  note "$(grep -E '(passed|failed|error)' "$RUN/pytest.txt" | tail -1 | tr -d '=' | sed 's/^ *//') (the installed unit is there: the tests run as on a Pi after install)"
  return "$code"
}

# --- the run ----------------------------------------------------------------------------------
PORT=$("$HOST_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SOURCE_DESC="$SOURCE_MODE of $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
[ "$SOURCE_MODE" = head ] || SOURCE_DESC+=" + $(git -C "$REPO" status --porcelain 2>/dev/null | wc -l) changed/untracked path(s)"
say "run $STAMP in $RUN (logs in $LOGS); source: $SOURCE_DESC"

ok=1
step "cached arm64 bookworm root" required base_root || ok=0
[ "$ok" = 1 ] && { step "work root (overlay, /proc /sys /dev, Pi cpuinfo)" required work_root || ok=0; }
[ "$ok" = 1 ] && { step "Raspberry Pi OS-like (systemd, no compiler)" required pi_os_like || ok=0; }
[ "$ok" = 1 ] && { step "install as docs/install.md (systemd/install.sh)" required install_unit || ok=0; }
if [ "$ok" = 1 ]; then
  step "Pi-only pip step (simplejpeg)" required pi_only_pip || true
  step "python3-picamera2" info picamera2 || true
  step "versions inside the root" required versions || true
  step "anpr-edge --version" required version_cmd || true
  step "anpr-edge config check" required config_check || true
  step "anpr-edge selftest (synthetic camera, no broker)" required selftest || true
  if step "x86_64 reference (synth, recognise)" required host_reference; then
    step "anpr-edge recognise, Pi 4 CPU" required recognise_pi4 || true
    step "anpr-edge recognise, Pi 5 CPU" required recognise_pi5 || true
    use_pi pi4
  fi
  step "anpr-edge run against the host's Mosquitto" required run_unit || true
  step "test suite, fast subset" required test_subset || true
fi

# --- the summary ------------------------------------------------------------------------------
WALL=$(($(date +%s) - STARTED))
failed=0
for i in "${!NAMES[@]}"; do
  [ "${REQUIRED[$i]}" = required ] && [ "${RESULTS[$i]}" = FAIL ] && failed=$((failed + 1))
done
verdict=$([ "$failed" = 0 ] && echo PASS || echo "FAIL ($failed required step(s))")
SUMMARY=$RUN/summary.md
{
  echo "Run $STAMP on $(uname -m) $(hostname), $(date -u -d "@$STARTED" '+%Y-%m-%d %H:%M UTC'): **$verdict**, wall time $((WALL / 60)) min $((WALL % 60)) s"
  echo "(under emulation, on a shared 2-core machine: no timing here is a performance figure)."
  echo
  echo "Source: $SOURCE_DESC. Emulator: $(qemu-aarch64-static --version 2>/dev/null | head -1 || echo qemu-aarch64), CPU model $PI4_CPU (Pi 4) unless said; root: $([ -n "$(ls -A "$RUN/upper" 2>/dev/null)" ] && echo "an overlay on" || echo "a copy of") the cached $BASE."
  echo
  if [ -s "$RUN/versions.json" ]; then
    echo "Inside the root: $(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print("; ".join(f"{k} {v[k]}" for k in v))' "$RUN/versions.json")."
    echo
  fi
  if [ "$ok" != 1 ]; then
    echo "The root could not be prepared or the unit not installed: the later steps did not run."
    echo
  fi
  echo "| step | result | time | note |"
  echo "| --- | --- | --- | --- |"
  for i in "${!NAMES[@]}"; do
    r=${RESULTS[$i]}
    [ "${REQUIRED[$i]}" = required ] || r="$r (info)"
    echo "| ${NAMES[$i]} | $r | ${TIMES[$i]} s | ${NOTES[$i]//|/\\|} |"
  done
  for pi in pi4 pi5; do
    if [ -s "$RUN/plates-$pi.md" ]; then echo; echo "Plates, $pi:"; echo; cat "$RUN/plates-$pi.md"; fi
  done
  if [ -s "$RUN/run.md" ]; then echo; echo "\`anpr-edge run\`:"; echo; cat "$RUN/run.md"; fi
  if [ -s "$RUN/selftest.txt" ]; then echo; echo "Selftest:"; echo; echo '```text'; cat "$RUN/selftest.txt"; echo '```'; fi
} >"$SUMMARY"
echo
echo "================ arm64-check summary ================"
cat "$SUMMARY"
echo "(logs: $LOGS)"
if [ "$RECORD" = 1 ]; then
  "$HOST_VENV/bin/python" "$REPO/$HELPER" record "$REPO/docs/arm64-check.md" "$SUMMARY" \
    && say "recorded in docs/arm64-check.md"
fi
[ "$failed" = 0 ]
