# kubelab: one command per course day, one command to test. `make help` lists them.
# `make day3` creates .venv with the run-time dependencies (requirements.txt) on first use, then runs the day's
# playbook; the test targets add the test tools (requirements-dev.txt).

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
INVENTORY   ?= inventories/local
DAY         ?= 3
export KUBELAB_PROJECT_DIR := $(CURDIR)
export ANSIBLE_CONFIG      := $(CURDIR)/ansible.cfg
export PATH                := $(CURDIR)/$(BIN):$(PATH)

PLAYBOOK := $(BIN)/ansible-playbook -i $(INVENTORY)
# Days with a playbook (playbooks/dayN.yml), and `all` (playbooks/site.yml) for make plan DAY=.
DAYS        := $(sort $(patsubst playbooks/day%.yml,%,$(wildcard playbooks/day[0-9]*.yml)))
DAY_PLAYBOOK = $(if $(filter all,$(DAY)),playbooks/site.yml,playbooks/day$(DAY).yml)
# make plan renders into $(PLAN_DIR).new and swaps it in only when the run succeeds.
PLAN_DIR    ?= build/plan

.PHONY: help venv venv-dev inventory-check day-check day1 day3 day4 site plan teardown lab-reset test lint unit \
	molecule molecule-host molecule-cluster bench clean

# Every target with a `## ` comment is a user command: help lists it.
help: ## this list
	@echo "Usage: make <command> [INVENTORY=inventories/classroom] [ARGS='-e ...'] [STUDENT=name] [DAY=N] [LAB=id]"
	@awk -F ':.*## ' '/^[a-z][a-z0-9 -]*:.*## / {printf "  make %-26s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: INVENTORY= inventory path (default inventories/local); ARGS= extra ansible-playbook"
	@echo "  arguments; STUDENT= one student (teardown, lab-reset); DAY= the day of plan, check, status and warm"
	@echo "  ($(DAYS), plan also all; default 3); LAB= lab id (lab-reset); REV= git revision (compare-plans)"

venv: $(VENV)/.installed-run
venv-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Two stamps: the days need only the run-time set; the test targets add the test tools (which include it).
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

# Before anything runs: a mistyped INVENTORY= would otherwise build Ansible's implicit one-host inventory.
inventory-check:
	@test -e "$(INVENTORY)" || { echo "INVENTORY=$(INVENTORY): no such file or directory. Inventories:" \
		"$(wildcard inventories/*)" >&2; exit 2; }

day-check:
	@test -f "$(DAY_PLAYBOOK)" || { echo "DAY=$(DAY): no such day. Days: $(DAYS) all (make plan DAY=all)" >&2; \
		exit 2; }

day1 day3 day4 site: inventory-check venv ## build that day (site: every day) on INVENTORY
	$(PLAYBOOK) playbooks/$@.yml $(ARGS)

# Any other dayN: no such day.
day%:
	@echo "make $@: no such day. Days: $(addprefix day,$(DAYS)) site" >&2; exit 2

# A fresh plan directory, so index.json lists exactly what this day renders (apply mode keeps adding to it);
# the previous plan stays until the new one is complete.
plan: inventory-check day-check venv ## render day DAY (default 3; all = every day) into build/plan/, touch nothing
	rm -rf "$(PLAN_DIR).new"
	$(PLAYBOOK) $(DAY_PLAYBOOK) -e kubelab_mode=plan -e kubelab_plan_root="$(abspath $(PLAN_DIR)).new" $(ARGS) \
		|| { rm -rf "$(PLAN_DIR).new"; echo "make plan failed; the previous plan in $(PLAN_DIR) is kept" >&2; exit 1; }
	rm -rf "$(PLAN_DIR)" && mv "$(PLAN_DIR).new" "$(PLAN_DIR)"

# Read only (no become); the table also goes to build/board/check.json and the class board build/board/index.html.
.PHONY: check
check: inventory-check day-check venv ## before class: is INVENTORY ready for day DAY? one table, one verdict (exit 2: not ready)
	$(PLAYBOOK) playbooks/check.yml -e kubelab_day=$(DAY) $(ARGS)

teardown: inventory-check venv ## remove the whole class (asks to type yes), or STUDENT=name only
	$(PLAYBOOK) playbooks/teardown.yml $(if $(STUDENT),-e student=$(STUDENT)) $(ARGS)

lab-reset: inventory-check venv ## return LAB=<id> to its starting state (STUDENT=name: that student only)
	$(PLAYBOOK) playbooks/lab-reset.yml $(if $(LAB),-e lab=$(LAB)) $(if $(STUDENT),-e student=$(STUDENT)) $(ARGS)

# Read only: the day's lab checks and each cluster's health, then build/board/index.html and the summary.
.PHONY: status board
status: inventory-check day-check venv ## during class: re-run DAY's lab checks and cluster health, write the class board
	$(PLAYBOOK) playbooks/status.yml -e kubelab_day=$(DAY) $(ARGS)

BOARD_PORT ?= 8000
board: ## serve the class board (build/board) on http://localhost:BOARD_PORT (default 8000)
	@test -f build/board/index.html || { echo "No class board yet: run make status or a day first" >&2; exit 2; }
	@echo "Class board: http://localhost:$(BOARD_PORT)/ (Ctrl-C stops)"
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory build/board $(BOARD_PORT)

# Needs the class's clusters running: it pulls through one kind node per Docker host.
warm: inventory-check venv ## pull day DAY's lab images once per Docker host into the registry caches
	$(PLAYBOOK) playbooks/warm.yml -e kubelab_day=$(DAY) $(ARGS)

# Task coverage (scripts/task_coverage.py, tests/README.md): every ansible-playbook run of the test targets,
# Molecule's included, records the tasks it executed (callback kubelab.core.task_coverage) in build/coverage/;
# the project's ansible.cfg (collections_path) or Molecule's ANSIBLE_COLLECTIONS_PATH finds the callback.
COVERAGE_DIR   := $(CURDIR)/build/coverage
COVERAGE_FLOOR := tests/coverage-floor.txt
TEST_LOGS      := $(CURDIR)/build/test-logs
test coverage: export KUBELAB_COVERAGE_DIR := $(COVERAGE_DIR)
# The variable replaces ansible.cfg's callbacks_enabled, so it names preload_plugins again.
test coverage: export ANSIBLE_CALLBACKS_ENABLED := kubelab.core.preload_plugins,kubelab.core.task_coverage

# Fresh records; fails when the apply-path task coverage falls below tests/coverage-floor.txt. The last line
# is pytest's summary again, for CI.
test: venv-dev ## lint, unit, render and Molecule tests that run on this machine, then the task coverage floor
	rm -rf $(COVERAGE_DIR)
	$(MAKE) --no-print-directory lint unit molecule
	@$(BIN)/python scripts/task_coverage.py --brief --floor $(COVERAGE_FLOOR); rc=$$?; \
	  tail -n 1 $(TEST_LOGS)/pytest.txt; exit $$rc

.PHONY: coverage
coverage: venv-dev ## task coverage per role and of the days' apply path (runs the suite first when no records)
	@ls $(COVERAGE_DIR)/*.jsonl >/dev/null 2>&1 || $(MAKE) --no-print-directory unit molecule
	$(BIN)/python scripts/task_coverage.py

lint: venv-dev ## yamllint, ansible-lint, workflow schema
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# The output is kept in build/test-logs/pytest.txt, so make test can end with pytest's summary line.
# The test files run side by side in PYTEST_WORKERS processes (pytest-xdist), a file's tests in order in one of
# them: the e2e classes build on the state their earlier tests left. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 2
unit: venv-dev ## pytest tests/ (unit, render, labs)
	@mkdir -p $(TEST_LOGS)
	{ $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15 tests; echo $$? > $(TEST_LOGS)/pytest.rc; } \
	  | tee $(TEST_LOGS)/pytest.txt
	@exit $$(cat $(TEST_LOGS)/pytest.rc)

# Both kinds side by side: the host scenarios wait mostly on containers and apt, the cluster ones keep Ansible busy
# (a run of both here: 884 s side by side against 847 s + 884 s for their scenarios). The cluster stage's output
# goes to its log and is printed after the host stage's; the last lines sum up both.
molecule: venv-dev
	bash scripts/test-host-setup.sh
	@mkdir -p $(TEST_LOGS)
	@echo "=== molecule-cluster runs beside molecule-host; its output follows ($(TEST_LOGS)/molecule-cluster.txt)"
	@bash scripts/molecule-run.sh cluster >$(TEST_LOGS)/molecule-cluster.txt 2>&1 & cluster=$$!; \
	  { bash scripts/molecule-run.sh host; echo $$? >$(TEST_LOGS)/molecule-host.rc; } 2>&1 | tee $(TEST_LOGS)/molecule-host.txt; \
	  wait $$cluster; cluster_rc=$$?; host_rc=$$(cat $(TEST_LOGS)/molecule-host.rc); \
	  cat $(TEST_LOGS)/molecule-cluster.txt; \
	  if grep -q '^=== why ' $(TEST_LOGS)/molecule-host.txt; then sed -n '/^=== why /,$$p' $(TEST_LOGS)/molecule-host.txt; \
	  else tail -n 1 $(TEST_LOGS)/molecule-host.txt; fi; \
	  [ $$host_rc -eq 0 ] && [ $$cluster_rc -eq 0 ]

# Host roles run in real systemd containers; the setup installs and starts a Docker engine from apt.
molecule-host: venv-dev
	bash scripts/test-host-setup.sh
	bash scripts/molecule-run.sh host

# Cluster roles run against KUBELAB_TARGET (sim here, kind where Docker and internet exist).
molecule-cluster: venv-dev
	bash scripts/molecule-run.sh cluster

bench: venv-dev ## print plan-mode and harness timings
	$(BIN)/python scripts/bench.py

# REV= a git revision; the plans go to build/compare-plans/ (scripts/compare-plans.sh says what is rendered).
compare-plans: venv ## diff the plans of days 1, 3, 4 in both tenancies: git revision REV against the working tree
	@test -n "$(REV)" || { echo "Give the revision to compare with: make compare-plans REV=<commit>" >&2; exit 2; }
	bash scripts/compare-plans.sh "$(REV)"

clean: ## remove build/ (plans, kubeconfigs, secrets, access sheets)
	rm -rf build
