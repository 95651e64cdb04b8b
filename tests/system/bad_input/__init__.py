"""Property-based bad input (issue 7 item 2): hotlist bundles and CSVs, MQTT commands, config
files, images and model files. Every generated case must end in a clear error of the right type
(naming the file, field or line) or a valid result, never an unexpected exception, and a rejected
bundle must leave the store and the index as they were.

CI runs a few examples per test (the folder takes well under a minute); ANPR_EDGE_LONG_TESTS=1
scales every test so that the folder tries at least 10,000 generated cases in all. The number run
per area is counted (tests/support/bad_input.py) and printed by the last test, test_zz_count.py
(run with `-s` to see it).
"""
