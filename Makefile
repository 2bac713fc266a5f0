# Thin entry points. Everything runs inside .venv/ (created on first use).
PY      := .venv/bin/python
STAMP   := .venv/.installed
STUDY   ?= mmm2
CORES   ?= 2

.PHONY: setup demo test bench reproduce clean-venv

setup: $(STAMP)

# torch is installed first and pinned, so nothing else pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: setup
	.venv/bin/omdpg demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m benchmarks.run $(BENCH_ARGS)

reproduce: setup
	.venv/bin/snakemake --snakefile workflow/Snakefile --profile workflow/profiles/local \
		--cores $(CORES) --config study=$(STUDY)

clean-venv:
	rm -rf .venv
