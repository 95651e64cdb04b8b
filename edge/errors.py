"""Errors that cross module boundaries.

The CLI maps them to exit codes: a `UserError` (bad usage or bad input: a config key, a file, an
argument) exits 2 with its one-line message; a `RuntimeFailure` (the input was fine but the work
failed: broker unreachable, camera gone) exits 1. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad usage or bad input. The message names the file, key or argument and what was wrong."""


class RuntimeFailure(Exception):
    """The request was valid but could not be carried out."""
