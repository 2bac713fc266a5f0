"""Dependencies point one way: the core (omdpg/) imports nothing from analysis/ or workflow/, and
the analysis never imports Snakemake (issue 15, item 3). Every import statement counts, including
the lazy ones inside functions, so the walk is over the source, not over sys.modules."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    """Top-level package of every module a file imports (relative imports are this package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("omdpg", {"analysis", "workflow", "baselines", "snakemake"}),
        ("analysis", {"workflow", "snakemake"}),
    ],
)
def test_imports_point_one_way(package, forbidden):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = {
        str(f.relative_to(ROOT)): sorted(imported(f) & forbidden)
        for f in files
        if imported(f) & forbidden
    }
    assert not bad, f"{package}/ must not import {sorted(forbidden)}: {bad}"


def test_the_walk_sees_lazy_imports(tmp_path):
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from analysis.studies import x\n    import workflow.y\n")
    assert imported(source) == {"analysis", "workflow"}
