"""Number plate registrations: the UK formats and their grammar."""
