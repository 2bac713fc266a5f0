"""Live curves: the progress.csv and eval.csv rows as TensorBoard scalars, and on W&B through its
TensorBoard sync. The CSVs stay the source of truth; this is a view of the same rows while a run
goes on (`tensorboard --logdir results/STUDY/runs`).

Both packages are optional extras (`make setup EXTRAS=log`). A resumed run opens the writer with
``purge_step`` one past its checkpoint's env step: TensorBoard then drops the points the killed
process wrote after that checkpoint, which the resumed run writes again, so a curve repeats no
point. Everything up to a checkpoint is flushed before the checkpoint is, so none is lost either.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from omdpg.config import LogConfig
from omdpg.errors import UserError

TENSORBOARD_DIR = "tensorboard"


class LiveCurves:
    def __init__(self, cfg: LogConfig, run_dir: Path, resumed_at: int | None, name: str):
        self.writer = self.wandb_run = None
        if not (cfg.tensorboard or cfg.wandb):
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError(
                "log.tensorboard / log.wandb need the tensorboard package: make setup EXTRAS=log "
                "(or pip install tensorboard)"
            ) from None
        if cfg.wandb:
            self.wandb_run = _wandb_run(cfg.wandb, run_dir, name)
        self.writer = SummaryWriter(
            log_dir=str(run_dir / TENSORBOARD_DIR),
            purge_step=None if resumed_at is None else resumed_at + 1,
            flush_secs=10,
        )

    def add(self, group: str, row: dict) -> None:
        """One CSV row as scalars ``group/column`` at its env step; empty cells are skipped."""
        if self.writer is None:
            return
        for key, value in row.items():
            if key != "env_steps" and value is not None and not math.isnan(float(value)):
                self.writer.add_scalar(f"{group}/{key}", float(value), row["env_steps"])

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.wandb_run is not None:
            self.wandb_run.finish()


def _wandb_run(project: str, run_dir: Path, name: str):
    """A W&B run that mirrors the TensorBoard files (wandb's TensorBoard sync). Its id comes from
    the run folder's path, so a resumed run continues the same W&B run. WANDB_MODE=offline keeps it
    on disk (RUN_DIR/wandb/) for a later `wandb sync`."""
    try:
        import wandb
    except ImportError:
        raise UserError(
            f"log.wandb={project} needs the wandb package: make setup EXTRAS=log "
            "(or pip install wandb)"
        ) from None
    run_id = hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:16]
    # The root names the synced files relative to it; by default it is the working directory,
    # and a run folder outside it would not be synced.
    wandb.tensorboard.patch(root_logdir=str((run_dir / TENSORBOARD_DIR).resolve()))
    return wandb.init(project=project, name=name, id=run_id, resume="allow", dir=str(run_dir))
