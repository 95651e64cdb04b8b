"""The unit's link to the centre's broker."""
