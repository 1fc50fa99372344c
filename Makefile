# Every target builds its own virtualenv from pyproject.toml: nothing else needs installing by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow lint typecheck bench clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/greenshift demo

lint: $(STAMP)
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# promtool (rule tests) and Chromium + chromedriver (catalog browser tests) from Debian, when
# missing and when root; otherwise those tests skip and say why.
system-deps:
	@if [ "$$(id -u)" = 0 ] && ! { command -v promtool && command -v chromium && command -v chromedriver; } >/dev/null; then \
		apt-get update -q && apt-get install -y -q --no-install-recommends prometheus chromium chromium-driver; fi

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

# Exit code 5 means no slow test was collected: not a failure.
test-slow: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -m slow; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
