"""SIGTERM and SIGINT stop a run with a checkpoint, so a preempted job loses nothing.

Slurm sends SIGTERM when a job reaches its time limit (and KillWait seconds later SIGKILL), as do
most schedulers and ``docker stop``; SIGINT is Ctrl-C. The first of either is only noted: the runner
finishes the env step it is in, checkpoints and exits, except in an evaluation, which it abandons
(``abandonable``: an evaluation changes nothing that is checkpointed, and its rows are written only
after it ends, so the resumed run simply evaluates again). A second signal acts at once, as without
this module; every file of the run folder is written atomically, so that loses only the steps since
the last checkpoint.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(Exception):
    """A stop was asked for: raised to leave the run (and an evaluation at once)."""


class StopRequests:
    """While installed (a ``with`` block in the main thread), remembers the first SIGTERM or
    SIGINT in ``signum``."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}
        self._abandon = False

    def __enter__(self) -> StopRequests:
        self._previous = {s: signal.signal(s, self._note) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _note(self, signum, frame) -> None:
        self.signum = signum
        signal.signal(signum, self._previous[signum])  # a second one acts at once
        if self._abandon:
            raise Stopped

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @contextmanager
    def abandonable(self):
        """A block that a stop request leaves at once, by raising Stopped."""
        if self.signum is not None:
            raise Stopped
        self._abandon = True
        try:
            yield
        finally:
            self._abandon = False
