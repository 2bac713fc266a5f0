"""Progress of a long run: a bar on a terminal, a log line per interval otherwise."""

from __future__ import annotations

import sys
import time
from collections import deque

from tqdm import tqdm

ETA_WINDOW = 10  # log lines the ETA's rate is taken over


def _rate(earlier: tuple[float, int], later: tuple[float, int]) -> float:
    return (later[1] - earlier[1]) / max(later[0] - earlier[0], 1e-9)


def _fmt_eta(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02d}s"
    )


class Progress:
    def __init__(self, total: int, start: int, label: str):
        self.total, self.label = total, label
        self.tty = sys.stderr.isatty()
        self._bar = (
            tqdm(
                total=total,
                initial=start,
                unit="step",
                unit_scale=True,
                desc=label,
                dynamic_ncols=True,
            )
            if self.tty
            else None
        )
        self._last = start
        # (time, env step) of the last few log lines: the line shows the rate since the previous
        # one and its ETA the rate over the window, not the run's average, which warm-up and a
        # resume skew (an off-policy run fills its buffer at many times its training rate).
        self._marks = deque([(time.perf_counter(), start)], maxlen=ETA_WINDOW + 1)

    def update(
        self, env_steps: int, win_rate: float | None, ret: float | None, new_phase: bool = False
    ) -> None:
        """One interval done; ``new_phase``: the run's rate changed for good during it (an
        off-policy warm-up ended), so the ETA's window starts again after this line."""
        tail = {"win": f"{win_rate:.2f}"} if win_rate is not None else {}
        if ret is not None:
            tail["return"] = f"{ret:.2f}"
        if self._bar is not None:
            self._bar.set_postfix(tail, refresh=False)
            self._bar.update(env_steps - self._last)
        else:
            self._marks.append((time.perf_counter(), env_steps))
            rate = _rate(self._marks[-2], self._marks[-1])
            eta = _fmt_eta(
                (self.total - env_steps) / max(_rate(self._marks[0], self._marks[-1]), 1e-9)
            )
            extra = " ".join(f"{k} {v}" for k, v in tail.items())
            print(
                f"[{self.label}] {env_steps}/{self.total} steps "
                f"({100 * env_steps / self.total:.0f}%) {rate:,.0f} steps/s ETA {eta} {extra}",
                file=sys.stderr,
                flush=True,
            )
            if new_phase:
                self._marks = deque([self._marks[-1]], maxlen=ETA_WINDOW + 1)
        self._last = env_steps

    def note(self, message: str) -> None:
        (tqdm.write if self._bar is not None else print)(message, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
