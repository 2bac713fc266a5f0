from glob import glob

from analysis.report import report_caption

# The analysis code is an input of the rules below: editing it rebuilds summaries, tables and
# figures under --rerun-triggers mtime, and never retrains a cell.
ANALYSIS_CODE = sorted(glob(f"{workflow.basedir}/../analysis/*.py"))
ROOTS = f"--results {config['results']} --figures {config['figures']}"
# Snakemake's HTML report (make report): each marked output with the caption the analysis writes.
CAPTION = "../report/caption.rst"


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
    """Final scores over seeds (mean ± std, median, IQM with bootstrap CI, P(OMDPG > row)) beside
    the paper's; for a study with the drift figure, HAPPO's improvement gap and drift too; with
    the wallclock figure, each cell's wall-clock hours to its task's target."""
    input:
        summary=LAYOUT.summary,
        study=STUDY.path,
        reference=f"{workflow.basedir}/../paper_figures/reference.csv",
        code=ANALYSIS_CODE,
    output:
        csv=report(LAYOUT.table_files()[0], caption=CAPTION, category="Tables"),
        md=LAYOUT.table_files()[1],
        tex=LAYOUT.table_files()[2],
        figure_tables=LAYOUT.table_files(STUDY.spec["figures"])[3:],  # drift, time_to_target
    log:
        f"{LAYOUT.logs}/study_tables.log",
    params:
        roots=ROOTS,
        caption=lambda wildcards: report_caption(STUDY, LAYOUT),
    shell:
        "python -m analysis.tables {input.study} {params.roots} > {log} 2>&1"


rule marl_eval_json:
    """Every complete run's evaluation episodes and absolute metric in marl-eval's JSON format."""
    input:
        summary=LAYOUT.summary,
        study=STUDY.path,
        code=ANALYSIS_CODE,
    output:
        LAYOUT.marl_eval,
    log:
        f"{LAYOUT.logs}/marl_eval_json.log",
    params:
        roots=ROOTS,
    shell:
        "python -m analysis.marl_eval {input.study} {params.roots} > {log} 2>&1"


rule study_runtimes:
    """Wall time, CPU time and peak memory of each training job, from its benchmark file."""
    input:
        summary=LAYOUT.summary,
        study=STUDY.path,
        code=ANALYSIS_CODE,
    output:
        report(
            LAYOUT.runtimes,
            caption="../report/runtimes.rst",
            category="Run times",
        ),
    log:
        f"{LAYOUT.logs}/study_runtimes.log",
    params:
        roots=ROOTS,
    shell:
        "python -m analysis.runtimes {input.study} {params.roots} > {log} 2>&1"
