# `make run`: the whole platform locally. `make test`: the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
# The suite keeps its queued tasks and channel groups out of the database `make run` uses.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/12
export DJANGO_SETTINGS_MODULE := clinic.settings

.PHONY: run test lint format bench venv clean prod-check soak soak-prod door-machine install-check screenshots

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

run: venv
	DEBUG=$${DEBUG:-1} ARRIVAL_GAP_MINUTES=$${ARRIVAL_GAP_MINUTES:-10} SITE_URL=$${SITE_URL:-http://127.0.0.1:$${PORT:-8000}} $(PY) manage.py run_platform

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy clinic workflows api hardware

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: venv lint
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite-main.sqlite3 REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m db_sensitive

# Every benchmark but the soak (minutes long, see `soak`).
bench: venv
	@for f in bench/*.py; do case $$f in bench/soak*.py) continue;; esac; echo "== $$f"; DATABASE_URL=$(TEST_DATABASE_URL) $(PY) $$f || exit 1; done

# The long fault runs: Redis down 30 s under load (the test, then minutes of traffic around it).
soak: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) FAULTS_REDIS_DOWNTIME_S=30 $(PY) -m pytest tests/faults/test_redis_down.py -s
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/soak.py

# The door's state machine at length: random (not derandomized), many more sequences than CI runs.
DOOR_MACHINE_EXAMPLES ?= 400
DOOR_MACHINE_STEPS ?= 80
door-machine: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DOOR_MACHINE_EXAMPLES=$(DOOR_MACHINE_EXAMPLES) \
		DOOR_MACHINE_STEPS=$(DOOR_MACHINE_STEPS) $(PY) -m pytest tests/doors/test_door_machine.py -s -p no:cacheprovider --timeout=3600

# Half an hour of the production stack under traffic with 50 sockets held open (not CI).
SOAK_SECONDS ?= 1800
soak-prod: venv
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/soak_prod.py --seconds $(SOAK_SECONDS)

# The README's screenshots (docs/screenshots/), taken by the accessibility run in zh-Hans.
screenshots: venv
	UPDATE_SCREENSHOTS=1 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest tests/browser/test_accessibility.py -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

prod-check: venv
	$(PY) deploy/prod_check.py

# The production install as deploy/README.md has it: a fresh venv from requirements.txt alone,
# pip check, every module of the product imported, and prod-check run on that venv.
PROD_VENV := var/prod-venv
install-check:
	rm -rf $(PROD_VENV)
	$(PYTHON) -m venv $(PROD_VENV)
	$(PROD_VENV)/bin/python -m pip install -q --upgrade pip
	$(PROD_VENV)/bin/python -m pip install -q -r requirements.txt
	$(PROD_VENV)/bin/python -m pip check
	$(PROD_VENV)/bin/python deploy/import_all.py
	$(PROD_VENV)/bin/python deploy/prod_check.py
