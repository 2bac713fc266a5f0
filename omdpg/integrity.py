"""What an --out folder holds, before a run writes anything into it: nothing, this run (to start
again, resume, or leave alone because it is finished), or something that must not be touched:
another run, files that are not a run, or a run whose files were damaged.

Each refusal is one UserError naming the folder, the problem and the fix. Nothing here writes.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path

from omdpg.errors import UserError
from omdpg.run_folder import Damaged, RunFolder, check_harness, read_json, read_sealed_json

RETRAIN = "delete the run folder and train again"


class State(Enum):
    NEW = "new"  # empty, missing, or this run killed before its first checkpoint
    RESUME = "resume"  # this run, with a checkpoint
    FINISHED = "finished"  # this run, DONE and intact


def check_out(raw: str) -> Path:
    """The --out path, if a run folder can be made or written there."""
    if not raw.strip():
        raise UserError("--out is empty: name a run folder, e.g. --out runs/mappo-3m-s0")
    out = Path(raw)
    existing = next(p for p in (out, *out.parents) if p.exists() or p == Path("."))
    if not existing.is_dir():
        raise UserError(
            f"cannot write the run folder {out}: {existing} is a file, not a folder; "
            "choose another --out"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write the run folder {out}: choose a writable --out")
    return out


def _flat(d, prefix: str = "") -> dict:
    if not isinstance(d, dict):
        return {prefix[:-1]: d}
    return {k: v for key, value in d.items() for k, v in _flat(value, f"{prefix}{key}.").items()}


def config_difference(recorded: dict, identity: dict, *, unrecorded_ok: bool = False) -> str | None:
    """The first configuration key where a folder's recorded run differs from ``identity``, in
    words. With ``unrecorded_ok``, keys the record lacks (options added after it was written) are
    not differences."""
    want = _flat(json.loads(json.dumps(identity, default=str)))
    have = _flat({k: recorded.get(k) for k in identity if k in recorded or not unrecorded_ok})
    for key, value in want.items():
        if unrecorded_ok and key not in have:
            continue
        if have.get(key) != value:
            return f"{key} is {have.get(key)!r} there, {value!r} here"
    return None


def inspect(folder: RunFolder, identity: dict, first_checkpoint: int) -> State:
    """Where the run configured as ``identity`` (whose first checkpoint is due at env step
    ``first_checkpoint``) stands in ``folder``; raises UserError for a folder it must not write
    into."""
    root = folder.root
    ours = {folder.lock.name, folder.config.name + ".tmp"}  # what a run leaves before config.json
    names = sorted({p.name for p in root.iterdir()} - ours) if root.is_dir() else []
    if not names:
        return State.NEW
    if not folder.config.exists():
        if folder.checkpoint.exists() or folder.done.exists():
            raise UserError(
                f"{root}: config.json is missing, so the run it holds is unknown: restore "
                f"config.json, or {RETRAIN}"
            )
        raise UserError(
            f"{root} already holds files that are not a run of this harness "
            f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): "
            "choose a new or empty folder for --out"
        )
    # Another harness's folder first: its files are whole, but this version must not write there.
    raw = read_json(folder.config)
    if isinstance(raw, dict):
        check_harness(raw, root)
    try:
        recorded = read_sealed_json(folder.config)
    except Damaged as err:
        raise UserError(
            f"{root}: {err}, so the run it holds is unknown: choose another --out, or {RETRAIN}"
        ) from None
    difference = config_difference(recorded, identity)
    if difference:
        raise UserError(
            f"{root} holds another run ({difference}): choose another --out, or rerun that "
            "run's own command (config.json provenance.command)"
        )
    if folder.done.exists():
        _check_finished(folder)
        return State.FINISHED
    if folder.checkpoint.exists():
        return State.RESUME  # the checkpoint and the rows it counts are checked as it loads
    _check_nothing_checkpointed(folder, first_checkpoint)
    return State.NEW


def _check_finished(folder: RunFolder) -> None:
    try:
        done = read_sealed_json(folder.done)
    except Damaged as err:
        raise UserError(
            f"{folder.root}: {err}: delete DONE and run the same command again, which writes it "
            "again from the final checkpoint"
        ) from None
    try:
        folder.check_logs(done["files"], finished=True)
    except Damaged as err:
        raise UserError(
            f"{folder.root}: {err} since the run finished (DONE records each file's checksum): "
            f"restore it from a backup, or {RETRAIN}"
        ) from None


def _check_nothing_checkpointed(folder: RunFolder, first_checkpoint: int) -> None:
    """A folder without a checkpoint starts again from step 0 only if its rows end before the first
    checkpoint was due, so a deleted checkpoint never costs the rows that it covered."""
    for log in folder.logs:
        if not log.path.exists():
            continue
        with open(log.path, newline="") as f:
            lines = f.read().split("\n")[1:-1]  # no header; the last item is "" or a torn row
        try:
            last = max((int(line.split(",", 1)[0]) for line in lines), default=0)
        except ValueError:
            raise UserError(f"{folder.root}: {log.path.name} is damaged: {RETRAIN}") from None
        if last > first_checkpoint:
            raise UserError(
                f"{folder.root}: checkpoint/state.pt is missing, but {log.path.name} goes on to "
                f"env step {last}, past the first checkpoint: restore checkpoint/, or {RETRAIN}"
            )
