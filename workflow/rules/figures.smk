from analysis.studies import figure_names


rule study_figure:
    """One figure of the study (the study schema's `figures` names) as PNG + PDF."""
    input:
        evals=LAYOUT.evals,
        summary=LAYOUT.summary,
        study=STUDY.path,
        code=ANALYSIS_CODE,
    output:
        png=report(
            f"{LAYOUT.figure_dir}/{{figure}}.png",
            caption=CAPTION,
            category="Figures",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{LAYOUT.figure_dir}/{{figure}}.pdf",
    log:
        f"{LAYOUT.logs}/figure_{{figure}}.log",
    wildcard_constraints:
        figure="|".join(figure_names()),
    params:
        roots=ROOTS,
        caption=lambda wildcards: report_caption(STUDY, LAYOUT, wildcards.figure),
    shell:
        "python -m analysis.figures {input.study} {wildcards.figure} {params.roots} > {log} 2>&1"
