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

test: lint unit molecule

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

unit: venv
	$(BIN)/pytest -q tests

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
