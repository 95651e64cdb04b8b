#!/usr/bin/env bash
# `make demo`: the real unit (`anpr-edge run`) on its embedded demo configuration
# (firmware_config/demo.toml): a synthetic road camera, the bundled models, a signed demo hotlist
# of plates that will drive past, SQLite under ./var, and a local Mosquitto when one is installed.
# ANPR_DEMO_SECONDS sets how long it runs (default 60); Ctrl-C stops it early, in order.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
CONFIG=firmware_config/demo.toml
SECONDS_TO_RUN=${ANPR_DEMO_SECONDS:-60}
PORT=1883  # mqtt.port of the demo config

echo "== anpr-edge demo =="
echo "A synthetic road watched by a unit: vehicles with UK plates come and go (daylight, then"
echo "infrared), the bundled models read every plate, each vehicle's frames are grouped into one"
echo "read, and plates on the demo hotlist raise hits. Everything is stored in var/anpr.db and"
echo "sent to an MQTT broker. Runs for ${SECONDS_TO_RUN} s, then prints a summary."
echo
# The store holds personal data (plates, times): owner-only, as on a unit.
mkdir -p -m 0700 var && chmod 0700 var
# Demo signing keys (made on first run, never committed) and a hotlist signed with them.
$BIN/python -m edge.devtools.demo --config "$CONFIG"

broker_pid="" centre_pid=""
cleanup() {
  if [ -n "$centre_pid" ]; then kill "$centre_pid" 2>/dev/null || true; fi
  if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
  echo "broker: using the MQTT broker already listening on 127.0.0.1:$PORT"
elif mosquitto_bin=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null); then
  cat > var/mosquitto.conf <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
log_dest none
EOF
  "$mosquitto_bin" -c var/mosquitto.conf &
  broker_pid=$!
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
    sleep 0.1
  done
  echo "broker: started a local Mosquitto for the demo on 127.0.0.1:$PORT"
else
  echo "broker: none (mosquitto is not installed). The unit runs anyway, keeps every read and"
  echo "hit in its outbox (var/anpr.db) and keeps trying to connect: that is what it does at the"
  echo "roadside when the link is down."
fi
# The centre: a unit counts a read delivered only once a subscriber has it (an MQTT 5 PUBACK
# saying "no matching subscribers" keeps it owed), so the demo stands a subscriber in for the
# force's consumers; what it receives goes to var/centre.log.
if [ -n "$broker_pid" ] || (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
  if sub_bin=$(command -v mosquitto_sub); then
    "$sub_bin" -V mqttv5 -h 127.0.0.1 -p $PORT -q 1 -i anpr-demo-centre \
      -t 'anpr/v1/units/+/reads' -t 'anpr/v1/units/+/hits' -F '%t %p' > var/centre.log &
    centre_pid=$!
    echo "centre: a stand-in subscriber writes what the centre receives to var/centre.log"
  else
    echo "centre: none (mosquitto_sub is not installed): the unit keeps its reads owed"
  fi
fi
echo

$BIN/anpr-edge run --config "$CONFIG" --duration "$SECONDS_TO_RUN"

echo
echo "Look further:"
echo "  $BIN/anpr-edge reads --config $CONFIG      # what was read, and whether it was delivered"
echo "  $BIN/anpr-edge hits --config $CONFIG --json"
echo "  $BIN/anpr-edge run --config $CONFIG --source synthetic:look=ir,rate=60   # a busier night"
