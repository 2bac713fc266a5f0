from omdpg.envs.registry import backend
from omdpg.studies import train_flags


rule train:
    """One cell, trained by `omdpg train` into its run folder. DONE is the only output, so a failed
    job keeps checkpoint/ and the next invocation resumes it (docs/design.md, contract 5).
    """
    output:
        done=f"{LAYOUT.runs}/{CELLS.wildcard_pattern}/DONE",
    log:
        f"{LAYOUT.logs}/train/{CELLS.wildcard_pattern}.log",
    benchmark:
        f"{LAYOUT.study_dir}/benchmarks/{CELLS.wildcard_pattern}.tsv"
    wildcard_constraints:
        **{factor: "[^/]+" for factor in CELLS.dataframe.columns},
    threads: config["train_threads"]
    resources:
        sc2=lambda wildcards: int(backend(wildcards.env).needs_sc2),  # --resources sc2=N bounds SC2 processes
    params:
        run_dir=lambda wildcards, output: Path(output.done).parent,
        steps=STUDY.spec["steps"],
        flags=lambda wildcards: train_flags(STUDY, wildcards),
        omdpg=OMDPG,  # config key omdpg: the host's omdpg, or a wrapper such as the docker profile's
    shell:
        "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
        "{params.omdpg:q} train --algo {wildcards.algorithm} --env {wildcards.env} --map {wildcards.map} "
        "--seed {wildcards.seed} --steps {params.steps} --out {params.run_dir} "
        "--grouping {wildcards.grouping} {params.flags} >> {log} 2>&1"
