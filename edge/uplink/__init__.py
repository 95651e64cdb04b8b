"""The uplink: the unit's one MQTT connection to the centre, and what goes over it (reads and
hits from the outbox in send order, their payloads and topics, the centre's commands)."""
