"""Errors caused by what the user passed in, and how the tools report them.

The command-line tools end with the message of such an error (naming the
file, key or value at fault) instead of a traceback; library callers get
the exception.
"""

import contextlib


class SFSegUserError(Exception):
    """Bad user input (file, config, checkpoint); the message says which."""


@contextlib.contextmanager
def exit_on_user_error():
    """For the command-line tools: turn a :class:`SFSegUserError` into
    ``error: <message>`` on stderr and exit status 1."""
    try:
        yield
    except SFSegUserError as err:
        raise SystemExit(f'error: {err}') from None
