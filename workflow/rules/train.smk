import shlex

from omdpg.envs.registry import backend
from omdpg.studies import train_args


rule train:
    """One cell, trained by `omdpg train` into its run folder. DONE is the only output, so a failed
    job keeps checkpoint/ and the next invocation resumes it (docs/design.md, contract 5). --wait:
    a job that a killed workflow left running (an orphan) still holds the folder's lock, and the
    rerun's job waits for it to end, then resumes or finds the run complete.
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
        args=lambda wildcards: shlex.join(train_args(STUDY, wildcards)),
        omdpg=OMDPG,  # config key omdpg: the host's omdpg, or a wrapper such as the docker profile's
    shell:
        "OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
        "{params.omdpg:q} train {params.args} --out {params.run_dir} --wait >> {log} 2>&1"
