# Yhteys developer commands. Everything installs into .venv from PyPI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install lock bench-lock run demo test test-all lint types unit bench clean

install: $(STAMP)

# The lock is the install: exact versions with hashes, runtime and dev tools alike; the
# project itself goes in editable, without build isolation, so nothing unlocked is fetched.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

# Refresh the lock from pyproject's ranges (and requirements/build.in) with a pinned uv.
UV_VERSION := 0.13.8
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --universal \
		--python-version 3.11 --generate-hashes --quiet -o requirements.lock
	@rm -f $(STAMP)
	@echo "requirements.lock refreshed; run 'make install' to apply it"

# The benchmark-only packages (ciw for benchmarks/sim_vs_ciw.py, msgspec for
# benchmarks/schema_choice.py), pinned within the main
# lock and installed by `make bench` into a directory of their own, never into the venv.
BENCH_LIB   := $(VENV)/bench-lib
BENCH_STAMP := $(VENV)/.bench-installed
bench-lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile requirements/bench.in --constraint requirements.lock --universal \
		--python-version 3.11 --generate-hashes --quiet -o requirements/bench.lock
	@rm -f $(BENCH_STAMP)

$(BENCH_STAMP): requirements/bench.lock $(STAMP)
	rm -rf $(BENCH_LIB)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps --target $(BENCH_LIB) \
		-r requirements/bench.lock
	@touch $(BENCH_STAMP)

run: install
	$(BIN)/yhteys serve --config config/region.yaml --log-format text

demo: install
	$(BIN)/yhteys demo --config config/region.yaml

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -q

# lint, types and every test (including the heavier property runs marked slow)
test: lint types
	$(BIN)/python -m pytest -q --run-slow

# the dispatch core (engine alone), then the real service under load from another process
# (memory and Redis mode side by side), its server CPU per webhook against a bare aiohttp
# handler's (interleaved rounds), then failover in Redis mode (the leader killed),
# how long a snapshot stops the leader's loop;
# the Redis parts start their own redis-server and are skipped without one;
# last the simulator against ciw (written to benchmarks/RESULTS.md) and the schema
# library's request-path cost (pydantic against msgspec)
bench: install $(BENCH_STAMP)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.service_load
	$(BIN)/python -m benchmarks.service_floor
	$(BIN)/python -m benchmarks.failover
	$(BIN)/python -m benchmarks.snapshot_stall
	$(BIN)/python -m benchmarks.estimate_accuracy
	PYTHONPATH=$(BENCH_LIB) $(BIN)/python -m benchmarks.sim_vs_ciw --write-results
	PYTHONPATH=$(BENCH_LIB) $(BIN)/python -m benchmarks.schema_choice

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
