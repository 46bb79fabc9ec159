# The README's two commands: `make run` and `make test`. Everything else is set up from here.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test chaos fuzz lint install browser promtool clean

# Reinstall only when the package list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Page tests drive Debian's chromium (never a downloaded browser); install it when missing.
browser:
	@test -x /usr/bin/chromium || (apt-get install -y -q chromium >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null))

# The alert rules and the dashboard's queries are checked by Prometheus's promtool
# (tests/e2e/test_alert_rules.py): Debian's prometheus package; installed when missing.
promtool:
	@command -v promtool >/dev/null || (apt-get install -y -q --no-install-recommends prometheus \
	  >/dev/null || (apt-get update -q >/dev/null && \
	  apt-get install -y -q --no-install-recommends prometheus >/dev/null))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint browser promtool
	$(BIN)/pytest -q --ignore=tests/chaos

# Fault tests (tests/chaos): real processes killed, stopped and cut off; minutes, not seconds.
chaos: $(STAMP)
	$(BIN)/pytest -q tests/chaos

# A random fuzzing campaign against the real app (tests/e2e/test_fuzz.py, schemathesis): new
# cases each run, its seed printed; `make fuzz SEED=<seed>` replays one. Minutes, not seconds;
# never part of `make test`, whose fuzz test is derandomized.
ifeq ($(origin SEED), undefined)
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
EXAMPLES ?= 200
fuzz: $(STAMP)
	@echo "make fuzz: seed $(SEED), $(EXAMPLES) examples per operation and mode"
	COMPLAINTS_FUZZ_SEED=$(SEED) COMPLAINTS_FUZZ_EXAMPLES=$(EXAMPLES) \
	  $(BIN)/pytest -q -s -p no:cacheprovider tests/e2e/test_fuzz.py

run: $(STAMP)
	$(BIN)/complaints run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
