"""Plate vision: the int8 TFLite detector and recogniser, decoding, UK grammar, evaluation."""
