#!/usr/bin/env bash
# Compare the plans of a git revision with the working tree's (issue 12: plans before and after a change are
# byte-identical except the intended changes).
#   scripts/compare-plans.sh REV [OUT_DIR]
# Renders days 1, 3 and 4 in plan mode on inventories/local in both tenancies (cluster: the inventory's one
# student; namespace: three students on the shared cluster, as tests/render/test_tenancy.py plans them), once from
# a copy of REV (git archive, so the repository and the working tree are not touched) and once from the working
# tree, then diffs each pair. Writes OUT_DIR/{rev,work}/<tenancy>-day<N>/ (plan/ and the run's log),
# OUT_DIR/plans.diff and prints one summary line per pair. A day a tree refuses (preflight) is compared by its
# exit code and refusal message. Exit 0 when every pair is identical, 1 when any differs, 2 on a usage error.
set -u -f -o pipefail  # -f: the roster JSON below must not be globbed

rev=${1:-}
if [ -z "$rev" ]; then
    echo "usage: $0 REV [OUT_DIR]   e.g. $0 f6d289a" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${2:-$root/build/compare-plans}")
playbook_bin=${ANSIBLE_PLAYBOOK:-$root/.venv/bin/ansible-playbook}
git -C "$root" rev-parse --verify --quiet "$rev^{commit}" >/dev/null || { echo "$rev: no such commit" >&2; exit 2; }

rm -rf "$out"
mkdir -p "$out/rev-tree"
git -C "$root" archive "$rev" | tar -x -C "$out/rev-tree"

declare -A tenancy_args=(
    [cluster]=""
    [namespace]='-e kubelab_tenancy=namespace -e {"kubelab_students":[{"name":"alice"},{"name":"bob"},{"name":"carol"}]}'
)

# render TREE_ROOT SIDE: every day and tenancy of one tree. The build dir is the same path for both sides (moved
# away after each run), so no rendered file differs only by where it was rendered.
render() {
    local tree=$1 side=$2 tenancy day dest rc
    for tenancy in cluster namespace; do
        for day in 1 3 4; do
            dest="$out/$side/$tenancy-day$day"
            mkdir -p "$dest"
            rm -rf "$out/build"
            # shellcheck disable=SC2086  # the tenancy's arguments are split on purpose
            (cd "$tree" && KUBELAB_PROJECT_DIR="$tree" ANSIBLE_CONFIG="$tree/ansible.cfg" ANSIBLE_NOCOLOR=1 \
                timeout 900 "$playbook_bin" -i inventories/local "playbooks/day$day.yml" -e kubelab_mode=plan \
                -e "kubelab_build_dir=$out/build" ${tenancy_args[$tenancy]} >"$dest/run.log" 2>&1)
            rc=$?
            echo "$rc" >"$dest/rc"
            # A refusal is compared by the failed task's result (up to the recap), not by the whole log.
            sed -n '/^\(fatal\|failed\): /,/^PLAY RECAP/p' "$dest/run.log" >"$dest/refusal"
            [ -d "$out/build/plan" ] && mv "$out/build/plan" "$dest/plan"
            # Paths of the project itself differ between the trees: name them alike.
            [ -d "$dest/plan" ] && grep -rlF "$tree" "$dest/plan" | xargs -r sed -i "s#$tree#<project>#g"
            echo "$side $tenancy day $day: rc=$rc" >&2
        done
    done
    rm -rf "$out/build"
}

render "$out/rev-tree" rev
render "$root" work

status=0
: >"$out/plans.diff"
for tenancy in cluster namespace; do
    for day in 1 3 4; do
        pair="$tenancy-day$day"
        a="$out/rev/$pair" b="$out/work/$pair"
        if diff -ru --exclude=run.log "$a" "$b" >>"$out/plans.diff"; then
            echo "$pair: identical ($(find "$b" -path '*/plan/*' -type f | wc -l) files, rc=$(cat "$b/rc"))"
        else
            status=1
            changed=$(diff -rq --exclude=run.log "$a" "$b" | grep -c '^Files ')
            only=$(diff -rq --exclude=run.log "$a" "$b" | grep '^Only in ' | sed "s#$out/##" | tr '\n' ';')
            echo "$pair: DIFFERS: $changed file(s) changed; ${only:-nothing only on one side} (rc $(cat "$a/rc") -> $(cat "$b/rc"))"
        fi
    done
done
echo "full diff: $out/plans.diff"
exit "$status"
