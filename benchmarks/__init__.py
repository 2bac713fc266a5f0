"""Throughput, scaling and memory benchmarks of the harness (`make bench`, docs/design.md layout).

One file per measurement: ``env_overhead`` (adapters vs bare simulators), ``training`` (every
registered learner end to end), ``scaling`` (time and memory per update vs agents and ensemble
size), ``memory`` (replay bytes, peak RSS of training jobs), ``workflow`` (Snakemake planning and
analysis of many run folders). ``run`` drives them and ``report`` writes the results.
"""
