"""Where results go: one CSV per measurement, one Markdown page for people, one JSON of the machine.

Every page states the machine, package versions, device, date, whether ``--quick`` cut the sizes,
and the load average around each measurement: numbers taken on a busy machine say so.
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from omdpg import provenance

EXTRA_PACKAGES = ("jaxlib", "snakemake", "pandas", "psutil")


@dataclass
class Section:
    title: str
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what could not be measured here, and why
    load: tuple[float, float] = (math.nan, math.nan)  # 1-min load average before, after
    seconds: float = math.nan  # wall time the measurement took

    def skip(self, reason: str) -> None:
        print(f"  skipped: {reason}", flush=True)
        self.skipped.append(reason)


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` of /proc/cpuinfo (Linux), or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or "unknown"


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16); elsewhere oneDNN
    emulates it at a small fraction of float32's speed."""
    return bool({"avx512_bf16", "amx_bf16"} & set((_cpuinfo("flags") or "").split()))


def machine(quick: bool, note: str, device: str = "cpu") -> dict:
    import psutil
    import torch

    info = provenance.collect("cpu", "smax")
    info["packages"].update({name: provenance._version(name) for name in EXTRA_PACKAGES})
    info.update(
        {
            "quick": quick,
            "note": note,
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "torch_threads": torch.get_num_threads(),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        }
    )
    return info


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def markdown_table(rows: list[dict]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _header(meta: dict) -> list[str]:
    p = meta["packages"]
    lines = [
        "# Benchmarks" + (" (--quick: reduced sizes, not for the README)" if meta["quick"] else ""),
        "",
        f"- machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB; device: "
        f"{meta['device']} (torch threads {meta['torch_threads']}); {meta['platform']}",
        f"- python {meta['python']}; " + ", ".join(f"{k} {v}" for k, v in p.items() if v),
        f"- last command: `{' '.join(meta['command'])}` on {meta['started']}",
    ]
    if meta["note"]:
        lines.append(f"- **note: {meta['note']}**")
    return lines


def _fragment(s: Section, meta: dict) -> list[str]:
    """One measurement's part of the page; it carries its own date, code and load, because a
    rerun with ``--only`` replaces it and keeps the other measurements' parts."""
    md = [
        "",
        f"## {s.title}",
        "",
        f"Measured {meta['started']} at {meta['git_commit'][:12]}"
        f"{' (dirty)' if meta['git_dirty'] else ''}; took {s.seconds:.0f} s; 1-min load average "
        f"{s.load[0]:.1f} before, {s.load[1]:.1f} after ({meta['cores']} cores).",
    ]
    if meta["note"]:
        md.append(f"**{meta['note']}**")
    if s.rows:
        md += ["", markdown_table(s.rows)]
    return md + [""] + [f"- {n}" for n in s.notes] + [f"- skipped: {r}" for r in s.skipped]


def write(out: Path, meta: dict, sections: dict[str, Section], order: list[str]) -> Path:
    """<name>.csv and <name>.md per measurement; results.md = header + every <name>.md present,
    in ``order``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    for name, s in sections.items():
        (out / f"{name}.csv").unlink(missing_ok=True)
        if s.rows:
            pd.DataFrame(s.rows).to_csv(out / f"{name}.csv", index=False)
        (out / f"{name}.md").write_text("\n".join(_fragment(s, meta)) + "\n")
    parts = [(out / f"{name}.md").read_text() for name in order if (out / f"{name}.md").exists()]
    page = out / "results.md"
    page.write_text("\n".join(_header(meta)) + "\n" + "".join(parts))
    return page
