"""Tracking: a vehicle's plates grouped across frames, voted into one plate, turned into a
`PlateRead` with its patches; `pipeline` runs it per frame and decides reads and hits."""
