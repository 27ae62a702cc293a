# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench validate chaos chaos-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hpctl demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

validate: $(STAMP)
	$(BIN)/hpctl validate deploy/plants/*.toml deploy/compose/plant.toml deploy/pointmaps/*.toml

bench: $(STAMP)
	mkdir -p bench-results
	$(BIN)/python bench/bench_cycle.py --out bench-results/cycle.json
	$(BIN)/python bench/bench_plan.py --out bench-results/plan.json
	$(BIN)/python bench/bench_evaluate.py --out bench-results/evaluate.json

# Hardening campaigns (not part of `make test`): the fuzz campaign always; the fault campaign
# (bench/chaos/faults.py) when it is there. Each writes its JSON to bench-results/.
CHAOS_CAMPAIGNS := fuzz $(if $(wildcard bench/chaos/faults.py),faults)

chaos: $(STAMP)
	mkdir -p bench-results
	$(foreach campaign,$(CHAOS_CAMPAIGNS),$(BIN)/python -m bench.chaos.$(campaign) --out bench-results/chaos-$(campaign).json &&) true

# the same campaigns at a few hundred inputs each, for development
chaos-quick: $(STAMP)
	mkdir -p bench-results
	$(foreach campaign,$(CHAOS_CAMPAIGNS),$(BIN)/python -m bench.chaos.$(campaign) --quick --out bench-results/chaos-$(campaign).json &&) true

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bench-results

# The fault campaign of `make chaos` on its own (docs/chaos-faults.md): about 30 minutes.
.PHONY: chaos-faults
chaos-faults: $(STAMP)
	mkdir -p bench-results
	$(BIN)/python -m bench.chaos.faults --out bench-results/chaos-faults.json
