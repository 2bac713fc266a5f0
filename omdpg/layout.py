"""Where a study's files live: the one place the core, the workflow and the analysis agree on
paths (the core reads studies and throughput; the analysis writes tables and figures)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The checkout holding config/: this package's parent in a development install, else the working
# directory (jobs inside the image run from the repository root, with the package installed).
ROOT = next(
    (p for p in (Path(__file__).resolve().parents[1], Path.cwd()) if (p / "config").is_dir()),
    Path(__file__).resolve().parents[1],
)
STUDIES = ROOT / "config" / "studies"
SCHEMAS = ROOT / "config" / "schemas"
REFERENCE = ROOT / "paper_figures" / "reference.csv"
THROUGHPUT = ROOT / "config" / "throughput.yaml"
TABLES = ("final",)
# A study that draws one of these figures also gets its table: the figure's numbers over seeds.
FIGURE_TABLES = {"drift": "drift", "wallclock": "time_to_target"}


@dataclass(frozen=True)
class Layout:
    results: Path  # RESULTS root (config key `results`)
    figures: Path  # FIGURES root (config key `figures`)
    study: str
    figures_in_study: bool = False  # figures under the study folder (evidence) or FIGURES/study

    @classmethod
    def evidence(cls, study: str, root: Path) -> Layout:
        """evidence/STUDY/: runs/ (the small files of each finished run), summary.csv, evals.csv,
        tables/ and figures/, all in one folder a reader can rebuild from."""
        return cls(Path(root), Path(root), study, figures_in_study=True)

    @property
    def study_dir(self) -> Path:
        return Path(self.results) / self.study

    @property
    def runs(self) -> Path:
        return self.study_dir / "runs"

    @property
    def logs(self) -> Path:
        return self.study_dir / "logs"

    @property
    def evals(self) -> Path:
        return self.study_dir / "evals.csv"

    @property
    def summary(self) -> Path:
        return self.study_dir / "summary.csv"

    @property
    def marl_eval(self) -> Path:
        return self.study_dir / "marl_eval.json"

    @property
    def recordings(self) -> Path:
        return self.study_dir / "recordings"

    @property
    def runtimes(self) -> Path:
        return self.tables / "runtimes.csv"

    def benchmark(self, run_dir: Path) -> Path:
        """The benchmark file of the training job of ``run_dir`` (workflow/rules/train.smk)."""
        relative = Path(run_dir).relative_to(self.runs)
        return self.study_dir / "benchmarks" / f"{relative}.tsv"

    @property
    def tables(self) -> Path:
        return self.study_dir / "tables"

    @property
    def figure_dir(self) -> Path:
        return (
            self.study_dir / "figures" if self.figures_in_study else Path(self.figures) / self.study
        )

    def table_files(self, figures: list[str] = ()) -> list[Path]:
        """final.{csv,md,tex}, then the table of each of ``figures`` (the study's) that has one."""
        names = TABLES + tuple(FIGURE_TABLES[f] for f in figures if f in FIGURE_TABLES)
        return [self.tables / f"{name}.{ext}" for name in names for ext in ("csv", "md", "tex")]

    def figure_files(self, figure: str) -> list[Path]:
        return [self.figure_dir / f"{figure}.{ext}" for ext in ("png", "pdf")]
