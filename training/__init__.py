"""Model training for anpr-edge (the `train` extra: TensorFlow). Never imported by the unit."""
