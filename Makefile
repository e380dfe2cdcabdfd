# Every verb works on a fresh machine after `make install`.
VENV ?= .venv
BIN := $(VENV)/bin

CHAOS ?= short

.PHONY: install lock up down lint test test-fast demo chaos bench clean

install:  ## venv + the project with its dev tools and the benchmarks' peers
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,bench]'

lock:  ## pin every installed dependency (after changing pyproject.toml) into constraints.txt
	$(BIN)/pip install -q -e '.[dev,bench]'
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

up:  ## start the local Kafka broker and Redis
	$(BIN)/agentstream up

down:  ## stop them
	$(BIN)/agentstream down

lint:  ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Tests run side by side in TEST_WORKERS processes (a file's tests in one of them): most
# wait on the broker. Those marked serial measure time and run alone afterwards.
# JUNIT=path/prefix writes <prefix>-parallel.xml and <prefix>-serial.xml (.ci/run counts them).
TEST_WORKERS ?= 4
JUNIT ?=

test: lint  ## lint, then every test (starts the broker and Redis it needs)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" --durations=20 $(if $(JUNIT),--junitxml=$(JUNIT)-parallel.xml)
	$(BIN)/pytest -m serial $(if $(JUNIT),--junitxml=$(JUNIT)-serial.xml)

test-fast:  ## unit tests only: no broker, no Redis
	$(BIN)/pytest tests/unit

demo:  ## the main job: broker, Redis, workers, results
	$(BIN)/agentstream demo

chaos:  ## the chaos suite (docs/reliability.md); CHAOS=long for the long profile
	AGENTSTREAM_CHAOS=$(CHAOS) $(BIN)/pytest tests/chaos -s

BENCH ?=

bench:  ## every benchmark part on the local broker (BENCH='--quick --only throughput,latency')
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench $(BENCH)

clean:
	$(BIN)/agentstream down || true
	rm -rf .agentstream .mypy_cache .ruff_cache .pytest_cache
