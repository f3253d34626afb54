#!/usr/bin/env bash
# Collects what is needed to understand a failed run on a cluster, into OUTDIR (for a CI artifact):
#   resources.txt   nodes with labels, then every namespaced and cluster-wide object of common kinds (-o wide)
#   events.txt      every event, oldest first
#   pods/<ns>_<pod>.txt   describe + logs (and the previous container's logs) of each pod that is not
#                   Running and ready, not Succeeded, or has restarted
#   kind/           `kind export logs` of every kind cluster, when the project's kind binary exists
# Usage: collect-cluster-state.sh KUBECONFIG OUTDIR. Never fails the job: a missing kubeconfig (the cluster was
# never created) or an unreachable API is written down and the script ends with 0.
# kubectl: the project's pinned build/bin/kubectl when the toolchain role installed it, else kubectl on PATH.
set -uo pipefail

kubeconfig="${1:?usage: collect-cluster-state.sh KUBECONFIG OUTDIR}"
out="${2:?usage: collect-cluster-state.sh KUBECONFIG OUTDIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
kubectl="$root/build/bin/kubectl"
[ -x "$kubectl" ] || kubectl=kubectl
kind="$root/build/bin/kind"
mkdir -p "$out/pods"

if [ -x "$kind" ]; then
  for cluster in $("$kind" get clusters 2>/dev/null); do
    "$kind" export logs "$out/kind/$cluster" --name "$cluster" >/dev/null 2>&1 || echo "kind export logs $cluster failed" >&2
  done
fi

if [ ! -s "$kubeconfig" ]; then
  echo "no kubeconfig at $kubeconfig: the cluster was not created" | tee "$out/resources.txt"
  exit 0
fi
k() { "$kubectl" --kubeconfig "$kubeconfig" --request-timeout=30s "$@"; }

{
  k get nodes -o wide --show-labels
  echo
  k get all,configmaps,pvc,pv,storageclasses,ingresses,networkpolicies,serviceaccounts -A -o wide
} >"$out/resources.txt" 2>&1
k get events -A --sort-by=.lastTimestamp >"$out/events.txt" 2>&1

# namespace, name and restart count of every pod that is failing, pending or has restarted.
failing=$(k get pods -A -o json | jq -r '.items[]
  | ([.status.containerStatuses[]?.restartCount] | add // 0) as $restarts
  | select(.status.phase != "Succeeded")
  | select(.status.phase != "Running" or $restarts > 0 or any(.status.containerStatuses[]?; .ready | not))
  | "\(.metadata.namespace) \(.metadata.name) \($restarts)"')
while read -r namespace pod restarts; do
  [ -n "$pod" ] || continue
  {
    k describe pod -n "$namespace" "$pod"
    echo "--- logs"
    k logs -n "$namespace" "$pod" --all-containers --prefix --timestamps
    if [ "$restarts" -gt 0 ]; then
      echo "--- logs of the previous containers"
      k logs -n "$namespace" "$pod" --all-containers --prefix --timestamps --previous
    fi
  } >"$out/pods/${namespace}_${pod}.txt" 2>&1
done <<<"$failing"
echo "cluster state in $out: $(find "$out/pods" -type f | wc -l) failing pod(s)"
exit 0
