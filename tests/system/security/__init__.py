"""Security (issue 7, item 3): the centre's broker configuration as committed, the unit's files
and its secrets. docs/security.md says what each test proves.

The broker tests run a real Mosquitto on firmware_config/mosquitto-centre.conf itself, with
only its file paths, port and run-as user rewritten (tests/support/security.py), and on the
committed firmware_config/mosquitto-centre.acl as it is: certificates come from a test CA,
a unit's certificate CN is its unit id, the centre's is "anpr.centre".

Mosquitto 2.0 (the `acl_file` ACL) grants every SUBSCRIBE and enforces read access when it
delivers each message: a subscription to another unit's topics is acknowledged, yet nothing
published there ever reaches the subscriber. These tests check delivery, which is what
matters, and accept either SUBACK.
"""
