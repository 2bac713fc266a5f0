from glob import glob

# The analysis code is an input of the rules below: editing it rebuilds summaries, tables and
# figures under --rerun-triggers mtime, and never retrains a cell.
ANALYSIS_CODE = sorted(glob(f"{workflow.basedir}/../analysis/*.py"))
ROOTS = f"--results {config['results']} --figures {config['figures']}"


rule summarise_runs:
    """Every run folder of the study -> evals.csv (one row per evaluation) and summary.csv."""
    input:
        done=expand(f"{LAYOUT.runs}/{{cell}}/DONE", cell=CELLS.instance_patterns),
        study=STUDY.path,
        code=ANALYSIS_CODE,
    output:
        evals=LAYOUT.evals,
        summary=LAYOUT.summary,
    log:
        f"{LAYOUT.logs}/summarise_runs.log",
    params:
        roots=ROOTS,
    shell:
        "python -m analysis.summary {input.study} {params.roots} > {log} 2>&1"


rule study_tables:
    """Final scores over seeds (mean ± std, median, IQM with bootstrap CI) beside the paper's."""
    input:
        summary=LAYOUT.summary,
        study=STUDY.path,
        reference=f"{workflow.basedir}/../paper_figures/reference.csv",
        code=ANALYSIS_CODE,
    output:
        LAYOUT.table_files(),
    log:
        f"{LAYOUT.logs}/study_tables.log",
    params:
        roots=ROOTS,
    shell:
        "python -m analysis.tables {input.study} {params.roots} > {log} 2>&1"
