"""What a technician does on site, as library code under thin CLI commands:

- `feed`: frames from the configured source, read in a worker thread with a timeout, so a
  hung camera makes a command fail with a message instead of hanging it;
- `imaging`: focus (sharpness) and exposure figures of a frame, the overlay, the 0600 write;
- `snapshot`: `anpr-edge camera snapshot` (one frame, plates read and boxed, focus figures);
- `camera_test`: `anpr-edge camera test` (measured fps, dropped and failed frames, exposure);
- `checks`, `state_checks`, `selftest`: `anpr-edge selftest` (a table of pass/fail checks);
- `completion`: the bash completion script, generated from the CLI's own parser.
"""
