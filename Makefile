# Two commands do everything on a fresh machine (Python 3.11, CPU):
#   make run    build the sample dataset and run the series on it
#   make test   the test suite (what CI runs)
# Both create .venv with the pinned dependencies first if it is missing or stale.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := dacon-photo-restore
export MPLBACKEND := Agg

.PHONY: run test bench nbval nbval-refresh data venv clean

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
# notebook 04 also gets the project's recipe (its defaults are the seed's recipe).
# Checkpoints persist in drive_checkpoints/: a second `make run` resumes or reuses them.
run: data
	@mkdir -p $(RUN_DIR)
	@for nb in notebooks/[0-9][0-9]_*.ipynb; do \
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
# whole-pipeline speed; one table (runs/bench-<time>/bench.md and .json). About 31 min on 2 cores.
bench: data
	$(PY) scripts/bench.py

# The unit, fault and papermill tests, then nbval over the reference notebooks.
test: $(STAMP)
	$(PY) -m pytest
	@$(MAKE) --no-print-directory nbval

# nbval: tests/nbval/NN_*.ipynb are the series executed with notebooks/params/tiny/ on a
# 24/8-image dataset (seed 123); re-executing them must reproduce every output cell
# marked "# NBVAL_CHECK_OUTPUT" (paths sanitised by tests/nbval/sanitize.cfg).
NBVAL      := tests/nbval
NBVAL_WORK := runs/nbval
NBVAL_ENV  := DATA_DIR=$(CURDIR)/$(NBVAL_WORK)/data CHECKPOINT_ROOT=$(CURDIR)/$(NBVAL_WORK)/checkpoints

$(NBVAL_WORK)/data/build.json: $(STAMP) $(wildcard helpers/*.py)
	rm -rf $(NBVAL_WORK)
	$(PY) -m helpers.sample_data --out $(NBVAL_WORK)/data --train 24 --test 8 --seed 123 > /dev/null

nbval: $(NBVAL_WORK)/data/build.json
	rm -rf $(NBVAL_WORK)/checkpoints
	$(NBVAL_ENV) $(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-sanitize-with $(NBVAL)/sanitize.cfg \
		--nbval-cell-timeout 600 $(NBVAL)/[0-9][0-9]_*.ipynb

# Re-run the reference notebooks deliberately (after a change that should alter their output).
nbval-refresh: $(NBVAL_WORK)/data/build.json
	rm -rf $(NBVAL_WORK)/checkpoints
	@for nb in notebooks/[0-9][0-9]_*.ipynb; do \
		name=$$(basename $$nb .ipynb); \
		$(NBVAL_ENV) $(PY) -m papermill --kernel $(KERNEL) --cwd $(NBVAL) -f notebooks/params/tiny/$$name.yaml \
			$$nb $(NBVAL)/$$name.ipynb || exit 1; \
	done

clean:
	rm -rf data/sample runs .pytest_cache
