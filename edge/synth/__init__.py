"""Synthetic training and evaluation data: plates, road scenes and recogniser crops."""
