from omdpg.studies import figure_names


rule study_figure:
    """One figure of the study (curves, lambda_pu, ensemble_size, grouping, drift) as PNG + PDF."""
    input:
        evals=LAYOUT.evals,
        summary=LAYOUT.summary,
        study=STUDY.path,
        code=ANALYSIS_CODE,
    output:
        png=f"{LAYOUT.figure_dir}/{{figure}}.png",
        pdf=f"{LAYOUT.figure_dir}/{{figure}}.pdf",
    log:
        f"{LAYOUT.logs}/figure_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(figure_names()),
    params:
        roots=ROOTS,
    shell:
        "python -m analysis.figures {input.study} {wildcards.figure} {params.roots} > {log} 2>&1"
