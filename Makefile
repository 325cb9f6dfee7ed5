# Two commands do everything on a fresh machine with python3:
#   make demo   create .venv, install, run the main job on embedded defaults
#   make test   the whole suite: unit tests, then every notebook under nbval
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: install fonts demo test test-fast notebooks notebooks-build lab data benchmarks clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@bash tools/install_cjk_font.sh
	touch $(STAMP)

# A font with Chinese glyphs for the plots (Debian's fonts-wqy-microhei); never fails.
fonts:
	@bash tools/install_cjk_font.sh

demo: $(STAMP)
	$(PY) -m tobmodel demo

test: $(STAMP)
	$(PY) -m pytest tests tobmodel --doctest-modules
	$(MAKE) notebooks

test-fast: $(STAMP)
	$(PY) -m pytest tests tobmodel --doctest-modules -m "not slow"

notebooks: $(STAMP)
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		MPLBACKEND=Agg $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks; \
	else echo "no notebooks yet"; fi

# Re-execute every notebook from its .py source and commit-ready tidy it (figures kept).
notebooks-build: $(STAMP)
	for f in notebooks/[0-9]*.py; do \
		$(VENV)/bin/jupytext --to ipynb --execute $$f >/dev/null || exit 1; \
		$(PY) notebooks/tidy_outputs.py $${f%.py}.ipynb || exit 1; \
	done

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# Rebuild data/ samples and the datasets shipped inside the package, byte for byte.
data: $(STAMP)
	$(PY) -m tobmodel.datasets.build

benchmarks: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache data/exports
