"""The running unit's process (`anpr-edge run`): start-up and stop, supervision, health, the
status file, systemd notify, signals and what it writes for people. The stages it runs live in
the folders named after them (`edge.capture`, `edge.vision`, `edge.track`, `edge.hotlist`,
`edge.store`, `edge.uplink`); `edge.unit.service` wires them together, top to bottom."""
