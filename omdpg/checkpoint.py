"""checkpoint/state.pt with its checksum: a damaged checkpoint is refused, never trusted.

The file is a fixed-size header, ``omdpg checkpoint sha256 <64 hex digits>\\n``, then what
``torch.save`` writes; the digest covers those bytes and is checked before ``torch.load`` sees them.
It is written to ``state.pt.tmp``, fsynced, and renamed over the old one between fsyncs of the
folder (run_folder.atomic_file), so a crash at any moment leaves the old or the new checkpoint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from omdpg.run_folder import Damaged, atomic_file

MAGIC = b"omdpg checkpoint sha256 "
HEADER = len(MAGIC) + 64 + 1  # the hex digest and a newline


class _Hashing:
    """The file torch.save writes to, hashing as it goes. torch turns a failed write into a
    RuntimeError; the OSError behind it (a full disk) is kept so that it can be raised instead."""

    def __init__(self, f):
        self.f, self.sha, self.error = f, hashlib.sha256(), None

    def write(self, data) -> int:
        self.sha.update(data)
        try:
            return self.f.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.f.flush()


def save(path: Path, state: dict) -> None:
    with atomic_file(path, "wb") as f:
        f.write(bytes(HEADER))  # the header's place; written once the digest is known
        out = _Hashing(f)
        try:
            torch.save(state, out)
        except RuntimeError:
            if out.error is not None:
                raise out.error from None
            raise
        f.seek(0)
        f.write(MAGIC + out.sha.hexdigest().encode() + b"\n")


def load(path: Path, device: torch.device) -> dict:
    """The checkpoint's state, after checking its digest; raises run_folder.Damaged."""
    name = f"{path.parent.name}/{path.name}"
    with open(path, "rb") as f:
        head = f.read(HEADER)
        if len(head) < HEADER or not head.startswith(MAGIC) or head[-1:] != b"\n":
            raise Damaged(
                f"{name} has no checksum header (cut, overwritten, or written by an older "
                "version of the harness)"
            )
        sha = hashlib.file_digest(f, "sha256")
        if sha.hexdigest().encode() != head[len(MAGIC) : -1]:
            raise Damaged(f"{name} does not match its checksum (changed or cut since written)")
        f.seek(HEADER)
        return torch.load(f, map_location=device, weights_only=False)
