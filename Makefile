# NAIA — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := var/demo.duckdb
SEED_POINTS := SINUSOID,CDT158,SINUSOIDU
STANDIN_SRC := $(wildcard tests/doubles/afsdk_standin/*.cs)
STANDIN := var/clr/OSIsoft.AFSDK.dll

.PHONY: install demo lint unit test chromium mono standin services-up services-down bench chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,distributed]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## the seed's Test 1 through the Simulator into the embedded DuckDB store
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	$(BIN)/naia backfill --connector Simulator --points $(SEED_POINTS) \
		--start 2026-01-09T00:00:00Z --end 2026-01-10T00:00:00Z --chunk 01:00:00 --db $(DEMO_DB)
	$(BIN)/naia sql --db $(DEMO_DB) \
		"SELECT COUNT(*) FROM point_data WHERE source_address IN ('SINUSOID', 'CDT158', 'SINUSOIDU')"

lint: install
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install standin
	$(BIN)/pytest -m "not services"

chromium:  ## headless browser for tests/e2e (Debian package; never `playwright install`)
	@test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium; }

mono:  ## C# compiler and runtime for the AF SDK stand-in (Debian packages; mono-devel brings libmonosgen)
	@command -v mcs >/dev/null || { apt-get update -q && apt-get install -y -q mono-mcs mono-devel; }

$(STANDIN): $(STANDIN_SRC) | mono
	mkdir -p $(dir $@)
	mcs -target:library -r:System.ServiceModel.dll -warnaserror+ -out:$@ $(STANDIN_SRC)

standin: mono $(STANDIN)  ## the compiled AF SDK stand-in the clr tests and the bench load

test: lint chromium standin  ## everything: lint, types, layers, unit, contract and integration tests on real services
	bash scripts/test.sh

services-up: install
	$(BIN)/naia services up

services-down: install
	$(BIN)/naia services down

bench: install standin
	bash scripts/bench.sh

CHAOS_TRIALS ?= 30
chaos: install  ## randomized kill -9 / SIGSTOP trials on private services (ports 32xxx); writes docs/reliability.md
	$(BIN)/python -m tests.chaos --trials $(CHAOS_TRIALS) $(if $(SEED),--seed $(SEED))

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
