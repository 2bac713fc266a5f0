"""The one error type a user sees: a single line naming the problem and the fix, exit status 2."""


class UserError(Exception):
    """Bad input or a missing prerequisite. The CLI prints ``str(err)`` on one line and exits 2."""

    exit_code = 2
