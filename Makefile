# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: demo test lint bench eval-segmentation eval-robustness eval-sessions train-default venv sysdeps \
	services clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the local CPU wheel; any other spec pulls CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

sysdeps:
	bash scripts/install-system-deps.sh

services:
	bash scripts/ensure-services.sh

demo: $(STAMP)
	DJANGO_SETTINGS_MODULE=ser_portal.settings.demo $(BIN)/python manage.py demo --port $(PORT)

# The second run is the demo's configuration (SQLite, filesystem broker): every URL of the
# authorization matrix as each persona, the families app with the report flow, one upload
# analysed by a real worker, and concurrent upload completions and re-analyses, which there
# rely on SQLite's write lock instead of row locks (about two and a half minutes).
# Both runs use TEST_WORKERS pytest-xdist processes (two: the cores CI has; each has its own
# test database, media folder and broker queues). TEST_WORKERS=0 runs in one process.
# --maxschedchunk 1 hands each process one test at a time: by default xdist sends each a
# contiguous quarter of the list up front, so the long tests, which tests/conftest.py puts
# first, all went to the first process while the other ran the quick ones and then idled
# (17:11 against 13:05 for the PostgreSQL run; four processes gave 12:52, no better).
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --maxschedchunk 1
test: $(STAMP) sysdeps services
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=ser_portal.settings.test $(BIN)/python -m pytest $(XDIST)
	DJANGO_SETTINGS_MODULE=ser_portal.settings.test_sqlite $(BIN)/python -m pytest $(XDIST) \
		tests/authz tests/families \
		tests/analysis/test_pipeline_worker.py::test_uploaded_recording_is_analysed_by_the_worker \
		tests/workspace/test_upload_concurrency.py tests/analysis/test_reanalysis_dedupe.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# The shared RAVDESS clips give real speech to the benchmark; without them it uses generated speech.
RAVDESS ?= ../shared/data/ravdess

# One entry point for the benchmarks (README, "Benchmarks"): `make bench` is the throughput
# benchmark; `make bench WHAT=segmentation|robustness|sessions|speakers|feedback` the others,
# each with its usual arguments below (ARGS="..." replaces them). All but feedback run through
# `python -m analysis.engine.benchmarks WHAT`; feedback needs the portal (manage.py bench_feedback).
WHAT ?= throughput
BENCH_ARGS_throughput = --minutes 5 --full-minutes 45 --model analysis/shipped/ser-default-v1 \
	$(if $(wildcard $(RAVDESS)),--data $(RAVDESS))
BENCH_ARGS_segmentation = --data $(RAVDESS)
# Emotion accuracy per recording condition (noise, level, codecs, rooms, bands, child-like voice)
# by 5-fold actor cross-validation of the shipped recipe, calibrated; features cached in
# ~/.cache/ser-portal (SER_FEATURE_CACHE). About 25 min on 2 cores the first time.
BENCH_ARGS_robustness = --data $(RAVDESS) --copies 4 --condition-every 3 --json var/robustness.json
# Per-segment emotion accuracy of whole conversations in simulated rooms, run through
# analyze_file with fold models that never heard the speakers (needs robustness's cache).
BENCH_ARGS_sessions = --data $(RAVDESS) --json var/sessions.json
BENCH_ARGS_speakers = --data $(RAVDESS) --json var/speakers.json --time-minutes 5
BENCH_ARGS_feedback =
# Clinic validation on constructed, cached features: evaluate 5,000 segments, adapt on 2,000.
BENCH_ARGS_agreement = --items 5000 --labels 2000
BENCHMARKS := throughput segmentation robustness sessions speakers agreement feedback
ARGS ?= $(BENCH_ARGS_$(WHAT))

bench: $(STAMP)
	@$(if $(filter $(WHAT),$(BENCHMARKS)),true,echo "WHAT must be one of: $(BENCHMARKS)" >&2; false)
	mkdir -p var
ifeq ($(WHAT),feedback)
	nice $(BIN)/python manage.py bench_feedback $(ARGS)
else
	DJANGO_SETTINGS_MODULE=ser_portal.settings.demo nice $(BIN)/python -m analysis.engine.benchmarks \
		$(WHAT) $(ARGS)
endif

# The names the benchmarks had before `make bench WHAT=...`.
# Speech detection on two-speaker conversations, then who spoke when (2-4 speakers, rooms,
# prints; DER/JER, count, roles) and the time of detection and the speaker stage on 5 min.
eval-segmentation:
	$(MAKE) --no-print-directory bench WHAT=segmentation
	$(MAKE) --no-print-directory bench WHAT=speakers
eval-robustness:
	$(MAKE) --no-print-directory bench WHAT=robustness
eval-sessions:
	$(MAKE) --no-print-directory bench WHAT=sessions

# Retrain the shipped default (ser-default-v2) and its model card from the shared clips.
train-default: $(STAMP)
	DJANGO_SETTINGS_MODULE=ser_portal.settings.demo nice $(BIN)/python manage.py train_model \
		--data $(RAVDESS) --out analysis/shipped/ser-default-v2 --seed 0

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache
