#!/usr/bin/env bash
# Runs every Molecule scenario of one kind: `host` (systemd containers on a local Docker engine) or
# `cluster` (KUBELAB_TARGET=sim by default, or kind). A scenario declares its kind with a first-line comment
# in molecule.yml: `# kubelab-scenario: host` or `# kubelab-scenario: cluster`.
set -euo pipefail
kind="${1:?usage: molecule-run.sh host|cluster [role ...]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
export KUBELAB_PROJECT_DIR="$root" ANSIBLE_CONFIG="$root/ansible.cfg"
export KUBELAB_TARGET="${KUBELAB_TARGET:-sim}"
export PATH="$root/.venv/bin:$PATH"
# Each scenario's output is also kept, so a failure's cause is repeated at the end (CI shows only the tail).
logs="$root/build/test-logs/molecule"
mkdir -p "$logs"

failed=() passed=()
for scenario_file in "$root"/roles/*/molecule/*/molecule.yml; do
  grep -q "^# kubelab-scenario: ${kind}\$" "$scenario_file" || continue
  scenario_dir="$(dirname "$scenario_file")"
  role_dir="$(dirname "$(dirname "$scenario_dir")")"
  role="$(basename "$role_dir")" scenario="$(basename "$scenario_dir")"
  if [ "$#" -gt 0 ] && [[ " $* " != *" $role "* ]]; then continue; fi
  echo "=== molecule test: role ${role}, scenario ${scenario} (${kind}, target ${KUBELAB_TARGET})"
  start=$(date +%s)
  log="$logs/${role}-${scenario}.log"
  if (cd "$role_dir" && molecule test -s "$scenario") 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed+=("$role/$scenario")
  else
    failed+=("$role/$scenario")
  fi
  echo "=== ${role}/${scenario}: $(( $(date +%s) - start )) s"
done
for name in "${failed[@]}"; do
  echo "=== why ${name} failed (first failing lines of build/test-logs/molecule/${name/\//-}.log):"
  sed 's/\x1b\[[0-9;]*m//g' "$logs/${name/\//-}.log" \
    | grep -E -B 2 -A 6 'fatal: |FAILED!|failed: \[|ERROR|Traceback|^E  ' | head -n 12 || true
done
[ "${#failed[@]}" -eq 0 ] || echo "failed scenarios: ${failed[*]}"
echo "molecule-${kind}: ${#passed[@]} passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
