"""The live aiming page: the running unit's newest frame with its plates boxed and read, focus
and exposure figures, the last reads and health, served read-only to a token holder.

- `holder.py`: the one-slot hand-off from the pipeline (nothing held while nobody watches);
- `view.py`: a held frame rendered for the page (overlay, figures, JPEG), only on request;
- `state.py`: the figures document the page polls (fps, exposure, reads, health);
- `access.py`: the token guard; `server.py`: the HTTP server (standard library);
- `page.py`: the unit's part that opens and closes it (config, `anpr-edge camera live`);
- `control.py`: the file through which the CLI learns the address and token.
"""
