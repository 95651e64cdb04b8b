"""The running unit (`anpr-edge run`): frame sources, the per-frame pipeline, grouping of a
vehicle's frames into one read, the store writer, the MQTT publisher, health, systemd notify.
`edge.unit.service` wires them together in one place, top to bottom."""
