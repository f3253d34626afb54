# kubelab: one command per course day, one command to test.
# `make day3` creates .venv with the pinned dependencies on first use, then runs the day's playbook.

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
INVENTORY   ?= inventories/local
DAY         ?= 3
export KUBELAB_PROJECT_DIR := $(CURDIR)
export ANSIBLE_CONFIG      := $(CURDIR)/ansible.cfg
export PATH                := $(CURDIR)/$(BIN):$(PATH)

PLAYBOOK := $(BIN)/ansible-playbook -i $(INVENTORY)

.PHONY: help venv day1 day3 day4 site plan teardown test lint unit molecule molecule-host molecule-cluster bench clean

help:
	@echo "make day3                 build day 3 (kind on this host, inventories/local)"
	@echo "make plan DAY=3           render day 3 into build/plan/ and touch nothing"
	@echo "make test                 lint, unit, render and Molecule tests that run on this machine"
	@echo "make bench                print plan-mode and harness timings"
	@echo "make teardown             remove what the days created (STUDENT=name for one student)"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

day1 day3 day4 site: venv
	$(PLAYBOOK) playbooks/$@.yml $(ARGS)

# A fresh build/plan, so index.json lists exactly what this day renders (apply mode keeps adding to it).
plan: venv
	rm -rf build/plan
	$(PLAYBOOK) playbooks/day$(DAY).yml -e kubelab_mode=plan $(ARGS)

teardown: venv
	$(PLAYBOOK) playbooks/teardown.yml $(if $(STUDENT),-e student=$(STUDENT)) $(ARGS)

# Needs the class's clusters running: it pulls through one kind node per Docker host.
warm: venv ## pull day DAY's lab images once per Docker host into the registry caches
	$(PLAYBOOK) playbooks/warm.yml -e kubelab_day=$(DAY) $(ARGS)

# Task coverage (scripts/task_coverage.py, tests/README.md): every ansible-playbook run of the test targets,
# Molecule's included, records the tasks it executed (callback kubelab.core.task_coverage) in build/coverage/.
COVERAGE_DIR   := $(CURDIR)/build/coverage
COVERAGE_FLOOR := tests/coverage-floor.txt
TEST_LOGS      := $(CURDIR)/build/test-logs
test coverage: export KUBELAB_COVERAGE_DIR := $(COVERAGE_DIR)
test coverage: export ANSIBLE_CALLBACKS_ENABLED := kubelab.core.task_coverage
test coverage: export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections

# Fresh records; fails when the apply-path task coverage falls below tests/coverage-floor.txt. The last line
# is pytest's summary again, for CI.
test: venv
	rm -rf $(COVERAGE_DIR)
	$(MAKE) --no-print-directory lint unit molecule
	@$(BIN)/python scripts/task_coverage.py --brief --floor $(COVERAGE_FLOOR); rc=$$?; \
	  tail -n 1 $(TEST_LOGS)/pytest.txt; exit $$rc

.PHONY: coverage
coverage: venv
	@ls $(COVERAGE_DIR)/*.jsonl >/dev/null 2>&1 || $(MAKE) --no-print-directory unit molecule
	$(BIN)/python scripts/task_coverage.py

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# The output is kept in build/test-logs/pytest.txt, so make test can end with pytest's summary line.
unit: venv
	@mkdir -p $(TEST_LOGS)
	{ $(BIN)/pytest -q tests; echo $$? > $(TEST_LOGS)/pytest.rc; } | tee $(TEST_LOGS)/pytest.txt
	@exit $$(cat $(TEST_LOGS)/pytest.rc)

molecule: molecule-host molecule-cluster

# Host roles run in real systemd containers; the setup installs and starts a Docker engine from apt.
molecule-host: venv
	bash scripts/test-host-setup.sh
	bash scripts/molecule-run.sh host

# Cluster roles run against KUBELAB_TARGET (sim here, kind where Docker and internet exist).
molecule-cluster: venv
	bash scripts/molecule-run.sh cluster

bench: venv
	$(BIN)/python scripts/bench.py

clean:
	rm -rf build
