# Thin entry points. Everything runs inside .venv/ (created on first use).
PY      := .venv/bin/python
# Optional extras of the package, e.g. `make setup EXTRAS=log` (TensorBoard and W&B live curves).
EXTRAS  ?=
comma   := ,
STAMP   := .venv/.installed$(if $(EXTRAS),-$(subst $(comma),-,$(EXTRAS)))
STUDY   ?= mmm2
CORES   ?= 2

.PHONY: setup lock demo test lint format bench reproduce report publish clean-venv image \
	test-container test-sc2

setup: $(STAMP)

# torch is installed first and pinned, so nothing else pulls a CUDA build. Then every third-party
# package at its locked version (requirements.lock), and the project with its test tools under the
# same pins (-c), so the jax/numpy/pandas that decide SMAX numbers are the lock's, not the day's.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q -c requirements.lock -e ".[test$(if $(EXTRAS),$(comma)$(EXTRAS))]"
	touch $(STAMP)

# Re-resolve pyproject.toml's dependencies into requirements.lock (pip-tools, from the test extra;
# not uv, which does not see a local CPU torch wheel). torch's local version label (+cpu) is
# dropped, so the image still installs the CUDA build of the same version from the index.
lock: setup
	.venv/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--no-emit-trusted-host --output-file requirements.lock pyproject.toml
	sed -i -E 's/^(torch==[^+ ]+)\+[a-z0-9.]+/\1/' requirements.lock

# The demo study (SMAX + MaMuJoCo, tiny budget) through the same workflow as every study.
demo: setup
	.venv/bin/snakemake --snakefile workflow/Snakefile --profile workflow/profiles/local \
		--cores $(CORES) --config study=demo

# The log extra too, so that the live-curve tests (TensorBoard, W&B offline) run rather than skip.
# One pytest worker per core, a test file to a worker (its module fixtures are built once); the
# slowest tests are listed, to keep the suite within its budget.
test: lint
	$(MAKE) setup EXTRAS=log
	$(PY) -m pytest -q -n $(CORES) --dist loadfile --durations=15

# ruff (lint + format) and snakefmt, configured in pyproject.toml; `make format` applies them.
lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/snakefmt --check workflow

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
	.venv/bin/snakefmt workflow

# The image (envs/Dockerfile). SC2=1 needs SC2_EULA=iagreetotheeula, which accepts the StarCraft II
# AI and ML licence; such an image must stay private. SC2=0 builds one without the game.
# Needs BuildKit: Docker >= 23 with buildx, or an older client (DOCKER=/usr/bin/docker).
IMAGE      ?= omdpg:latest
DOCKER     ?= docker
SC2        ?= 1
SC2_EULA   ?=
BASE_IMAGE ?=
IMAGE_ARGS ?=

image:
	@if [ "$(SC2)" = 1 ] && [ -z "$(SC2_EULA)" ]; then echo "error: StarCraft II needs its licence accepted: make image SC2_EULA=iagreetotheeula (or SC2=0 for an image without it)" >&2; exit 2; fi
	DOCKER_BUILDKIT=1 $(DOCKER) build -f envs/Dockerfile -t $(IMAGE) \
		--build-arg SC2=$(SC2) --build-arg SC2_EULA=$(SC2_EULA) \
		--build-arg GIT_COMMIT=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
		$(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) $(IMAGE_ARGS) .

# Builds the image with SC2=0 and trains in it (skips without a Docker daemon); part of `make test`.
test-container: setup
	$(PY) -m pytest -q tests/container

# The tests that need StarCraft II (tests/sc2), in the image with this checkout mounted, before a
# long study: about 30 minutes (README, "Check StarCraft II first"). Writes this machine's SC2 rate
# to config/throughput.local.yaml for `omdpg plan`. Without the game it stops, saying why.
test-sc2:
	$(DOCKER) run --rm --init --network none --user "$$(id -u):$$(id -g)" -e HOME=/tmp \
		-v "$(CURDIR):$(CURDIR)" -w "$(CURDIR)" --entrypoint python $(IMAGE) \
		-m pytest -q -p no:cacheprovider tests/sc2

bench: setup
	$(PY) -m benchmarks.run $(BENCH_ARGS)

reproduce: setup
	.venv/bin/snakemake --snakefile workflow/Snakefile --profile workflow/profiles/local \
		--cores $(CORES) --config study=$(STUDY)

# Snakemake's HTML report of a study already run: tables, figures with their captions, run times.
report: setup
	.venv/bin/snakemake --snakefile workflow/Snakefile --profile workflow/profiles/local \
		--cores $(CORES) --config study=$(STUDY) --report results/$(STUDY)/report.html
	@echo "report -> results/$(STUDY)/report.html"

# The finished runs of results/$(STUDY) as committed evidence: evidence/$(STUDY)/ (docs/design.md).
publish: setup
	$(PY) -m analysis.publish $(STUDY)

clean-venv:
	rm -rf .venv
