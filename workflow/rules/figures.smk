from omdpg.studies import figure_names, recordings

RECORDINGS = recordings(STUDY, LAYOUT)


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


rule record_episode:
    """Episode 0 of a run's best policy on held-out start states, recorded by `omdpg eval`."""
    input:
        done=lambda wildcards: f"{RECORDINGS[f'{LAYOUT.recordings}/{wildcards.name}']}/DONE",
    output:
        report(
            f"{LAYOUT.recordings}/{{name}}",
            caption="../report/recording.rst",
            category="Recordings",
        ),
    log:
        f"{LAYOUT.logs}/record_{{name}}.log",
    wildcard_constraints:
        name="[^/]+",
    params:
        run_dir=lambda wildcards, input: Path(input.done).parent,
    shell:
        "omdpg eval {params.run_dir} --learner best --episodes 1 --record {output} > {log} 2>&1"
