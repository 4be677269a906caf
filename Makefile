# Two commands do everything on a fresh machine (Python 3.11, CPU):
#   make run    build the sample dataset and run the series on it
#   make test   the test suite (what CI runs)
# Both create .venv with the pinned dependencies first if it is missing or stale.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := dacon-photo-restore

.PHONY: run test bench bench-train scale sweep nbval nbval-refresh data venv clean

$(STAMP): requirements.txt requirements-torch.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-torch.txt -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	@touch $(STAMP)

venv: $(STAMP)

data: $(STAMP)
	$(PY) -m helpers.sample_data

RUN_DIR := runs/$(shell date +%Y%m%d-%H%M%S)

# Each notebook runs with its CPU-sized parameters from notebooks/params/cpu/ (if any);
# notebook 05 also gets the project's recipe as measured on the CPU (its defaults are the
# best recipe for a GPU on the full data).
# Checkpoints persist in drive_checkpoints/: a second `make run` resumes or reuses them.
# (Notebook 07, a sweep of notebook 05, is `make sweep`.)
run: data
	@mkdir -p $(RUN_DIR)
	@for nb in notebooks/0[1-6]_*.ipynb; do \
		name=$$(basename $$nb .ipynb); params=notebooks/params/cpu/$$name.yaml; \
		echo "== $$nb -> $(RUN_DIR)/ $$(test -f $$params && echo "(parameters: $$params)")"; \
		start=$$(date +%s); \
		$(PY) -m papermill --kernel $(KERNEL) --progress-bar \
			$$( [ $$name = 05_gan_training ] && echo "-f notebooks/params/project_recipe.yaml") \
			$$(test -f $$params && echo "-f $$params") \
			$$( [ $$name = 06_inference_and_zip ] && echo "-p OUT_DIR $(RUN_DIR)/submission") \
			$$nb $(RUN_DIR)/$$name.ipynb || exit 1; \
		echo "== $$name took $$(( $$(date +%s) - start )) s"; \
	done
	@echo "== baseline: the damaged input itself, scored on the sample test split"
	@$(PY) -m helpers.score --quiet --pred data/sample/test_input --gt data/sample/test_gt --input data/sample/test_input
	@echo "== restored by the trained pipeline (independent re-score of the submission's PNGs)"
	@$(PY) -m helpers.score --quiet --pred $(RUN_DIR)/submission/png --gt data/sample/test_gt --input data/sample/test_input
	@echo "== submission: $(RUN_DIR)/submission/submission.zip"

# Every contender trained for the same budget and scored on the sample test split, with
# whole-pipeline speed; one table (runs/bench-<time>/bench.md and .json). About 66 min on 2 cores.
bench: data
	$(PY) scripts/bench.py --doc docs/bench.md

# Training throughput (loader, GAN step fp32 vs autocast at 256 / 512 px) and the full-data
# series time it implies on a T4 and an A100 (runs/bench-train-<time>/). A few minutes.
bench-train: data
	$(PY) scripts/bench_train.py

# The series at DACON's size (29,603 training pairs, 100 test inputs built from the embedded
# photos, open.zip staged as on Colab), 03-05 for a bounded number of steps: wall time, peak
# memory and disk per notebook (runs/scale/<time>/scale.md, docs/scale.md). About an hour and 56 GB of disk on
# 2 cores the first time (the build and its zip are kept for the next run).
scale: $(STAMP)
	$(PY) scripts/scale_run.py --kernel $(KERNEL) --doc docs/scale.md

# The browser test drives Debian's Chromium through its ChromeDriver: installed when missing.
CHROMEDRIVER := /usr/bin/chromedriver
$(CHROMEDRIVER):
	@echo "== installing Debian's chromium and chromium-driver (for the web demo's browser test)"
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver'

# The unit, fault, papermill and browser tests, then nbval over the reference notebooks.
test: $(STAMP) $(CHROMEDRIVER)
	$(PY) -m pytest
	@$(MAKE) --no-print-directory nbval

# nbval: tests/nbval/NN_*.ipynb are the series executed with notebooks/params/tiny/ on a
# 24/8-image dataset (seed 123); re-executing them must reproduce every output cell
# marked "# NBVAL_CHECK_OUTPUT" (paths sanitised by tests/nbval/sanitize.cfg).
NBVAL      := tests/nbval
NBVAL_WORK := runs/nbval
# everything the notebooks write (runs, splits, sweeps, submissions) stays under NBVAL_WORK and is
# cleared before each pass, so an earlier pass (or a sweep file since changed) cannot show through
NBVAL_ENV  := DATA_DIR=$(CURDIR)/$(NBVAL_WORK)/data CHECKPOINT_ROOT=$(CURDIR)/$(NBVAL_WORK)/checkpoints \
              WORK_DIR=$(CURDIR)/$(NBVAL_WORK)/work

$(NBVAL_WORK)/data/build.json: $(STAMP) $(wildcard helpers/*.py)
	rm -rf $(NBVAL_WORK)
	$(PY) -m helpers.sample_data --out $(NBVAL_WORK)/data --train 24 --test 8 --seed 123 > /dev/null

nbval: $(NBVAL_WORK)/data/build.json
	rm -rf $(NBVAL_WORK)/checkpoints $(NBVAL_WORK)/work
	$(NBVAL_ENV) $(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-sanitize-with $(NBVAL)/sanitize.cfg \
		--nbval-kernel-name $(KERNEL) \
		--nbval-cell-timeout 600 $(NBVAL)/[0-9][0-9]_*.ipynb

# Re-run the reference notebooks deliberately (after a change that should alter their output).
nbval-refresh: $(NBVAL_WORK)/data/build.json
	rm -rf $(NBVAL_WORK)/checkpoints $(NBVAL_WORK)/work
	@for nb in notebooks/[0-9][0-9]_*.ipynb; do \
		name=$$(basename $$nb .ipynb); \
		$(NBVAL_ENV) $(PY) -m papermill --kernel $(KERNEL) --cwd $(NBVAL) -f notebooks/params/tiny/$$name.yaml \
			$$nb $(NBVAL)/$$name.ipynb || exit 1; \
	done

# A parameter sweep of a notebook with papermill and its leaderboard (helpers.sweep), e.g.
#   make sweep SWEEP=notebooks/params/sweeps/example.yaml     (4 points, about 20 minutes on 2 cores)
SWEEP ?= notebooks/params/sweeps/example.yaml
sweep: data
	$(PY) -m helpers.sweep $(SWEEP) --kernel $(KERNEL)

# What the project rebuilds on its own: the sample dataset (only if it is a build of
# helpers.data.synthetic holding nothing else), the nbval scratch folder, the training data
# cache (helpers.training.data_cache) and pytest's cache.
# Your runs (runs/<time>/, runs/bench-*/) and checkpoints (drive_checkpoints/) are kept.
clean:
	@if [ -d data/sample ]; then $(PY) -m helpers.sample_data --remove --out data/sample; fi
	rm -rf $(NBVAL_WORK) runs/cache .pytest_cache
	@echo "kept: runs/ (your run outputs) and drive_checkpoints/ (trained checkpoints); delete them yourself if you mean to"
