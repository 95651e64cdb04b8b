"""Signed model and configuration updates from the centre (issue 16), as safe as hotlists.

- `reasons`: why an update was refused or undone, one stable code each.
- `model_bundle`: the signed model bundle (models, manifests, golden images): made by the
  centre, checked by the unit; `model_store`: versions staged on disk and the state file that
  says which is current, previous and on trial; `golden`: the golden-image test.
- `readers`: the reader the pipeline takes at each frame, swapped atomically.
- `model_updater`: the unit's worker (verify, stage, test, switch, trial, roll back);
  `trial`: the read-rate and confidence comparison; `intake`: the MQTT side of both.
- `config_update`: signed partial configurations (an allow-list of keys), applied at restart.
"""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
