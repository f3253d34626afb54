"""Each guide is Korean, has the required sections, and its kubectl commands name objects and namespaces
that the lab really has; each lab's main workloads appear in its guide."""

import re
import shlex

import pytest
import yaml

import lab_pss as pss
from labs_common import ADDON_NAMESPACES, LABS, LAB_IDS, load_lab, manifest_docs
from test_lab_schemas import kustomize_build

SECTIONS = ("목표", "사전 준비", "단계별 실습", "관찰할 점", "문제 해결", "망가뜨리고 고치기", "이 실습에서 다루지 않는 것")
# The student's namespace prefix from her access sheet (empty in cluster tenancy), set at the top of each guide.
PREFIX = "${NS_PREFIX}"
KINDS = {
    "deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
    "sts": "StatefulSet", "statefulset": "StatefulSet", "statefulsets": "StatefulSet",
    "ds": "DaemonSet", "daemonset": "DaemonSet", "daemonsets": "DaemonSet",
    "svc": "Service", "service": "Service", "services": "Service",
    "hpa": "HorizontalPodAutoscaler", "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "pvc": "PersistentVolumeClaim", "persistentvolumeclaim": "PersistentVolumeClaim",
    "cm": "ConfigMap", "configmap": "ConfigMap", "configmaps": "ConfigMap",
    "secret": "Secret", "secrets": "Secret",
    "ing": "Ingress", "ingress": "Ingress",
    "netpol": "NetworkPolicy", "networkpolicy": "NetworkPolicy", "networkpolicies": "NetworkPolicy",
    "pdb": "PodDisruptionBudget", "poddisruptionbudget": "PodDisruptionBudget",
    "sa": "ServiceAccount", "serviceaccount": "ServiceAccount",
    "role": "Role", "rolebinding": "RoleBinding",
    "resourcequota": "ResourceQuota", "quota": "ResourceQuota", "limitrange": "LimitRange",
    "podmonitor": "PodMonitor",
    "applicationset": "ApplicationSet", "appproject": "AppProject",
    "application": "Application", "applications": "Application", "app": "Application",
    "schedule": "Schedule", "backup": "Backup", "restore": "Restore",
    "ns": "Namespace", "namespace": "Namespace",
    "pod": "Pod", "pods": "Pod", "po": "Pod",
    "storageclass": "StorageClass",
}
NAME_VERBS = {"get", "describe", "delete", "edit", "scale", "label", "annotate", "patch", "logs", "exec"}
# Cluster objects made by the cluster or add-ons, not by labs.
CLUSTER_OBJECTS = {("StorageClass", "standard"), ("StorageClass", "fast-ssd")}


def guide(lab):
    return (LABS / lab / "guide.ko.md").read_text(encoding="utf-8")


def code_blocks(text):
    """Bodies of the fenced code blocks, those inside blockquotes included (quote marks removed)."""
    return [body for _, body, _ in guide_blocks(text)]


def guide_blocks(text):
    """[(language, body, instructor)]: instructor is true for a block inside a `> **강사 전용**` box."""
    plain, quote, out = [], [], []

    def flush():
        body = "\n".join(quote) + "\n"
        out.extend((lang, b, "**강사 전용**" in body) for lang, b in re.findall(r"```([a-z]*)\n(.*?)```", body, flags=re.S))
        quote.clear()

    for line in text.splitlines():
        if line.startswith(">"):
            quote.append(line[2:] if line.startswith("> ") else line[1:])
            continue
        if quote:
            flush()
        plain.append(line)
    if quote:
        flush()
    plain_text = "\n".join(plain) + "\n"
    out.extend((lang, b, False) for lang, b in re.findall(r"```([a-z]*)\n(.*?)```", plain_text, flags=re.S))
    return out


def prose(text):
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return re.sub(r"`[^`]*`", " ", text)


def heredoc_objects(text):
    """Objects that the guide itself creates with `kubectl create|apply -f - <<EOF`."""
    out = []
    for body in re.findall(r"<<'?EOF'?\n(.*?)\nEOF", text, flags=re.S):
        out.extend(d for d in yaml.safe_load_all(body) if d)
    return out


def kubectl_commands(text):
    return [cmd for cmd, _ in guide_commands(text)]


def guide_commands(text):
    """[(kubectl command, instructor)] of the guide's code blocks (heredoc bodies and pipes left out)."""
    cmds = []
    for _, block, instructor in guide_blocks(text):
        block = re.sub(r"<<'?EOF'?\n.*?\nEOF", "", block, flags=re.S).replace("\\\n", " ")
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("kubectl "):
                cmds.append((line.split(" | ")[0].split(";")[0], instructor))
    return cmds


def rendered_gitops(lab):
    """The objects Argo CD applies: every region overlay of the lab's gitops/ tree, rendered."""
    root = LABS / lab / "gitops" / "regions"
    if not root.is_dir():
        return []
    return [d for overlay in sorted(root.glob("*/platform")) for d in kustomize_build(overlay)]


def objects(lab):
    docs = [d for _, d in manifest_docs(lab)] + rendered_gitops(lab) + heredoc_objects(guide(lab))
    out = {("Secret", g["namespace"], g["secret"]) for g in load_lab(lab).get("generated_values", [])}
    for d in docs:
        out.add((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]))
    for d in docs:        # pods and PVCs that workloads create under predictable names
        if d["kind"] == "StatefulSet":
            for i in range(d["spec"].get("replicas", 1)):
                out.add(("Pod", d["metadata"].get("namespace"), "%s-%d" % (d["metadata"]["name"], i)))
                for v in d["spec"].get("volumeClaimTemplates") or []:
                    out.add(("PersistentVolumeClaim", d["metadata"]["namespace"], "%s-%s-%d" % (v["metadata"]["name"], d["metadata"]["name"], i)))
    for d in docs:        # Argo CD Applications generated by an ApplicationSet list generator
        if d["kind"] == "ApplicationSet":
            for el in d["spec"]["generators"][0]["list"]["elements"]:
                name = d["spec"]["template"]["metadata"]["name"].replace("{{.region}}", el["region"])
                out.add(("Application", d["metadata"]["namespace"], name))
    return out


def label_sets(lab):
    docs = [d for _, d in manifest_docs(lab)] + rendered_gitops(lab)
    sets = [d["metadata"].get("labels") or {} for d in docs]
    sets.extend(d["spec"]["template"]["metadata"].get("labels") or {} for d in docs if d["kind"] == "ApplicationSet")
    for d in docs:
        tpl = pss.pod_template(d) if d.get("kind") in pss.WORKLOAD_KINDS else None
        if tpl:
            sets.append(tpl[1].get("labels") or {})
    return sets


def strip_substitutions(cmd):
    """Replace each $( ... ) command substitution (nested ones too) by the placeholder $SUB."""
    out, i = [], 0
    while i < len(cmd):
        if cmd.startswith("$(", i):
            depth, j = 0, i + 1
            while j < len(cmd):
                depth += {"(": 1, ")": -1}.get(cmd[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append("$SUB")
            i = j + 1
        else:
            out.append(cmd[i])
            i += 1
    return "".join(out)


def parse(cmd):
    cmd = strip_substitutions(cmd)
    try:
        tokens = shlex.split(cmd)
    except ValueError:
        tokens = cmd.split()
    ns, selectors, positional, all_ns = None, [], [], False
    global LAST_CONTAINER
    LAST_CONTAINER = None
    it = iter(range(len(tokens)))
    skip = False
    for i in it:
        t = tokens[i]
        if skip:
            skip = False
            continue
        if t in ("-n", "--namespace"):
            ns = tokens[i + 1]
            skip = True
        elif t.startswith("--namespace="):
            ns = t.split("=", 1)[1]
        elif t in ("-l", "--selector"):
            selectors.append(tokens[i + 1])
            skip = True
        elif t.startswith("--selector=") or t.startswith("-l="):
            selectors.append(t.split("=", 1)[1])
        elif t in ("-A", "--all-namespaces"):
            all_ns = True
        elif t in ("-c", "--container"):
            LAST_CONTAINER = tokens[i + 1] if i + 1 < len(tokens) else None
            skip = True
        elif t in ("-o", "--output", "-f", "--field-selector", "--as", "--type",
                   "--image", "--replicas", "--timeout", "--tail", "-L", "--label-columns", "--sort-by"):
            skip = True
        elif t == "--":
            break
        elif not t.startswith("-"):
            positional.append(t)
    return ns, selectors, positional[1:], all_ns          # drop "kubectl"


def refs(cmd):
    """(namespace, [(kind, name)], selectors, created_names) named by one kubectl command; the access-sheet
    prefix ${NS_PREFIX} is dropped, so `-n ${NS_PREFIX}shop` names the lab namespace `shop`."""
    ns, selectors, pos, _ = parse(cmd.replace(PREFIX, ""))
    named, created = [], []
    if not pos:
        return ns, named, selectors, created
    verb = pos[0]
    if verb == "run" and len(pos) > 1:
        created.append(pos[1])
    if verb in ("rollout", "set") and len(pos) > 1:
        pos = pos[1:]
    if verb == "create" and len(pos) > 2 and pos[1] in ("secret",):
        created.append(pos[3] if pos[2] in ("tls", "generic") and len(pos) > 3 else pos[2])
        return ns, named, selectors, created
    args = pos[1:]
    for a in args:
        if "/" in a and not a.startswith("/") and "://" not in a and "=" not in a:
            kind, name = a.split("/", 1)
            if kind.lower() in KINDS:
                named.append((KINDS[kind.lower()], name))
    if verb in ("exec", "logs") and args and "/" not in args[0]:
        named.append(("Pod", args[0]))
    elif verb in NAME_VERBS and args and "/" not in args[0]:
        kinds = args[0].split(",")
        if all(k.lower() in KINDS for k in kinds) and len(kinds) == 1:
            for name in args[1:]:
                named.append((KINDS[kinds[0].lower()], name))
    return ns, named, selectors, created


LAST_CONTAINER = None
# Containers the Vault agent injector adds to annotated pods.
INJECTED_CONTAINERS = {"vault-agent", "vault-agent-init"}


def containers_of(lab):
    """{(kind, namespace, name): {container names}} of the lab's workloads."""
    out = {}
    for _, d in manifest_docs(lab):
        tpl = pss.pod_template(d)
        if tpl and d["kind"] != "Pod":
            spec, meta = tpl
            names = {c["name"] for key in ("initContainers", "containers") for c in spec.get(key) or []}
            if (meta.get("annotations") or {}).get("vault.hashicorp.com/agent-inject") == "true":
                names |= INJECTED_CONTAINERS
            out[(d["kind"], d["metadata"]["namespace"], d["metadata"]["name"])] = names
    return out


def placeholder(name):
    return any(c in name for c in "$<{(\"'")


@pytest.mark.parametrize("lab", LAB_IDS)
def test_guide_sections_and_language(lab):
    text = guide(lab)
    headings = re.findall(r"^#+\s+(.*)$", text, flags=re.M)
    for section in SECTIONS:
        assert any(section in h for h in headings), "%s: missing section %s" % (lab, section)
    p = prose(text)
    hangul = len(re.findall(r"[\uac00-\ud7a3]", p))
    latin = len(re.findall(r"[A-Za-z]", p))
    assert hangul > 800, "%s: too little Korean prose" % lab
    assert hangul / (hangul + latin) >= 0.6, "%s: Hangul ratio %.2f" % (lab, hangul / (hangul + latin))
    assert len(kubectl_commands(text)) >= 10


@pytest.mark.parametrize("lab", LAB_IDS)
def test_guide_commands_name_real_objects(lab):
    text = guide(lab)
    known = objects(lab)
    lab_ns = set(load_lab(lab)["namespaces"])
    created = set()
    problems = []
    containers = containers_of(lab)
    for cmd in kubectl_commands(text):
        ns, named, selectors, made = refs(cmd)
        container = LAST_CONTAINER
        created.update(made)
        if container:
            for kind, name in named:
                key = (kind, ns, name)
                if key in containers and container not in containers[key]:
                    problems.append("%s %s/%s has no container %s: %s" % (kind, ns, name, container, cmd))
        if ns and not placeholder(ns):
            if ns not in lab_ns | ADDON_NAMESPACES:
                problems.append("unknown namespace %s in: %s" % (ns, cmd))
        for kind, name in named:
            if placeholder(name) or name in created:
                continue
            if kind == "Node" or (ns in ADDON_NAMESPACES and ns not in lab_ns):
                continue
            if kind == "Namespace":
                if name not in lab_ns:
                    problems.append("unknown namespace %s in: %s" % (name, cmd))
                continue
            if (kind, name) in CLUSTER_OBJECTS:
                continue
            if (kind, ns, name) not in known:
                problems.append("no %s %s/%s in the lab, in: %s" % (kind, ns, name, cmd))
        for sel in selectors:
            if placeholder(sel) or sel.startswith("kubernetes.io/service-name="):
                svc = sel.split("=", 1)[-1]
                if sel.startswith("kubernetes.io/service-name=") and ("Service", ns, svc) not in known:
                    problems.append("no Service %s/%s for %s" % (ns, svc, cmd))
                continue
            if ns in ADDON_NAMESPACES and ns not in lab_ns:
                continue
            terms = [t for t in sel.split(",") if "topology.kubernetes.io" not in t and "node-role" not in t]
            if not terms:
                continue
            ok = any(all(_term_ok(t, labels) for t in terms) for labels in label_sets(lab))
            if not ok:
                problems.append("selector %s matches nothing in: %s" % (sel, cmd))
    assert problems == []


def _term_ok(term, labels):
    term = term.strip()
    if term.startswith("!"):
        return term[1:] not in labels
    if "=" in term:
        k, v = term.split("=", 1)
        return labels.get(k) == v
    return term in labels


@pytest.mark.parametrize("lab", LAB_IDS)
def test_main_workloads_are_in_the_guide(lab):
    text = guide(lab)
    for _, d in manifest_docs(lab):
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "HorizontalPodAutoscaler", "ApplicationSet", "Schedule"):
            assert d["metadata"]["name"] in text, "%s: %s %s is not mentioned in the guide" % (lab, d["kind"], d["metadata"]["name"])


def test_cross_check_catches_wrong_names():
    lab = "w1d2-online-shop"
    known = objects(lab)
    for cmd, bad in (("kubectl -n online-shop get deployment webb", ("Deployment", "online-shop", "webb")),
                     ("kubectl -n online-shop rollout status deployment/frontend", ("Deployment", "online-shop", "frontend")),
                     ("kubectl -n shop get svc web", None)):
        ns, named, _, _ = refs(cmd)
        if bad:
            assert bad[:1] + (ns,) + bad[2:] not in known and (named[0][0], ns, named[0][1]) == bad
        else:
            assert ns not in set(load_lab(lab)["namespaces"]) | ADDON_NAMESPACES
    ns, named, _, _ = refs("kubectl -n online-shop get deploy web")
    assert (named[0][0], ns, named[0][1]) in known


def test_parser_reads_the_forms_guides_use():
    assert refs("kubectl -n a get deploy,svc,pods -o wide") == ("a", [], [], [])
    assert refs("kubectl -n a describe deployment web") == ("a", [("Deployment", "web")], [], [])
    assert refs("kubectl -n a exec deploy/web -c x -- sh -c 'ls'") == ("a", [("Deployment", "web")], [], [])
    assert refs("kubectl -n a get pods -l app=web -o wide")[2] == ["app=web"]
    assert refs("kubectl -n a run psa --image=busybox:1.36.1 --dry-run=server -- sleep 1")[3] == ["psa"]
    assert refs("kubectl -n a set image deployment/api api=x:1")[1] == [("Deployment", "api")]
    refs("kubectl -n a logs deploy/web -c wait-for-db")
    assert LAST_CONTAINER == "wait-for-db"
    assert containers_of("w1d2-online-shop")[("Deployment", "online-shop", "catalog-api")] == {"wait-for-db", "catalog-api"}
    assert "vault-agent" in containers_of("w2d3-banking")[("Deployment", "banking-core", "payment-processor")]
    assert refs("kubectl -n a delete pod $(kubectl -n a get pods -l app=web -o name)") == ("a", [("Pod", "$SUB")], [], [])


# ---- guides a student can follow alone (issue 14 item 3) ------------------------------------------------

GLOSSARY = LABS / "GLOSSARY.ko.md"
# Kinds and verbs that work without a namespace; everything else a student runs needs `-n ${NS_PREFIX}...`.
CLUSTER_KINDS = {"node", "nodes", "no", "namespace", "namespaces", "ns", "storageclass", "storageclasses", "sc",
                 "apiservice", "apiservices", "pv", "persistentvolumes", "crd", "crds", "ingressclass",
                 "clusterrole", "clusterrolebinding", "volumesnapshotclass"}
CLUSTER_VERBS = {"drain", "cordon", "uncordon", "version", "config", "kustomize", "cluster-info", "api-resources",
                 "explain"}
# Particles written without a space after an English word or `code` ("RBAC을", not "RBAC 을").
PARTICLES = ("은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게", "으로", "로", "와", "과", "도", "만",
             "이며", "이고", "이나", "입니다", "까지", "부터", "처럼", "보다", "이라는", "라는")
SPACED_PARTICLE = re.compile(r"[A-Za-z0-9`)]\s+(%s)(?=[\s.,:;!?)|]|$)" % "|".join(sorted(PARTICLES, key=len, reverse=True)),
                             flags=re.M)


def answers(lab):
    path = LABS / lab / "answers.ko.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def cluster_only(lab):
    """A lab that uses add-on namespaces cannot run in namespace tenancy (roles/lab lab_tenancy_problems)."""
    return bool(set(load_lab(lab)["namespaces"]) & ADDON_NAMESPACES)


def lab_namespaces(lab):
    return set(load_lab(lab)["namespaces"]) - ADDON_NAMESPACES


def prefix_problems(text, namespaces, tenancy_capable=True):
    """Commands a student runs that would miss her namespaces in namespace tenancy."""
    problems = []
    names = "|".join(re.escape(n) for n in sorted(namespaces, key=len, reverse=True))
    bare = re.compile(r"(?<![\w}.-])(%s)(?![\w-])" % names) if names else None
    for lang, body, instructor in guide_blocks(text):
        if lang not in ("bash", "sh") or instructor:
            continue
        for line in body.splitlines():
            if bare and re.search(r"\.(%s)\.svc" % names, line) and not re.search(r"\.\$\{NS_PREFIX\}(%s)\.svc" % names, line):
                problems.append("DNS name without ${NS_PREFIX}: " + line.strip())
            if re.search(r"127\.0\.0\.1|localhost:\d{4,5}", line) and "port-forward" not in body:
                problems.append("hard-coded address (use ${HOST}:${INGRESS_PORT}): " + line.strip())
    for cmd, instructor in guide_commands(text):
        if instructor:
            continue
        ns, _, pos, all_ns = parse(cmd)
        if all_ns:
            problems.append("all namespaces (-A) is not a student's view: " + cmd)
        if ns is not None:
            if ns in namespaces:
                problems.append("namespace without ${NS_PREFIX}: " + cmd)
            continue
        verb = pos[0] if pos else ""
        args = pos[1:]
        if verb in ("rollout", "set", "auth", "top"):
            args = args[1:] if verb != "top" else args
        kinds = {k.split("/")[0].lower() for a in args[:1] for k in a.split(",")}
        if bare:
            for a in args[1:] if kinds & {"ns", "namespace", "namespaces"} else []:
                if bare.fullmatch(a):
                    problems.append("namespace without ${NS_PREFIX}: " + cmd)
        if verb in CLUSTER_VERBS or "--raw" in cmd or ("-f" in cmd.split() and verb in ("create", "apply")):
            continue
        if not kinds or not kinds <= CLUSTER_KINDS:
            problems.append("namespaced command without -n ${NS_PREFIX}...: " + cmd)
    if tenancy_capable:
        for cmd, instructor in guide_commands(text):
            cluster_step = re.search(r"kubectl (drain|cordon|uncordon|delete (ns|namespace)) |--as[= ]", cmd)
            addon_ns = (parse(cmd)[0] or "") in ADDON_NAMESPACES
            if (cluster_step or addon_ns) and not instructor:
                problems.append("not allowed to a student in namespace tenancy, put it in a > **강사 전용** box: " + cmd)
    return problems


def glossary_forbidden():
    """{forbidden variant: preferred term} from the glossary table (third column, in backticks)."""
    out = {}
    terms = GLOSSARY.read_text(encoding="utf-8").split("## 용어\n", 1)[1].split("\n## ", 1)[0]
    for row in re.findall(r"^\|(.+)\|\s*$", terms, flags=re.M):
        cells = [c.strip() for c in row.split("|")]
        if len(cells) >= 3 and "`" in cells[2]:
            for bad in re.findall(r"`([^`]+)`", cells[2]):
                out[bad] = cells[1]
    return out


def spaced_particles(text):
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return [m.group(0).strip() for m in SPACED_PARTICLE.finditer(text)]


def steps(text):
    """{step heading: step text} of the `### N단계` sections."""
    parts = re.split(r"^(###\s+\d+단계.*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1].split("\n## ")[0] for i in range(1, len(parts) - 1, 2)}


def sample_outputs(text):
    """Number of ```text blocks labelled 예시 출력 on the line before, and the unlabelled ones."""
    labelled, unlabelled = 0, []
    for m in re.finditer(r"^(>? ?)```text\n", text, flags=re.M):
        before = [ln for ln in text[:m.start()].splitlines() if ln.strip(" >")][-1:]
        if before and "예시 출력" in before[0]:
            labelled += 1
        else:
            unlabelled.append(before[0] if before else "")
    return labelled, unlabelled


@pytest.mark.parametrize("lab", LAB_IDS)
def test_guide_reads_the_access_sheet(lab):
    text = guide(lab)
    top = text.split("## 단계별 실습")[0]
    assert re.search(r"^(export )?NS_PREFIX=", "\n".join(code_blocks(top)), flags=re.M), "%s: set NS_PREFIX at the top" % lab
    assert "endpoints.md" in top, "%s: say where the values come from (the access sheet)" % lab
    assert prefix_problems(text, lab_namespaces(lab), not cluster_only(lab)) == []
    if cluster_only(lab):
        assert "클러스터 테넌시 전용" in top, "%s uses add-on namespaces: say it runs only in cluster tenancy" % lab


@pytest.mark.parametrize("lab", LAB_IDS)
def test_guide_steps_have_times_and_sample_outputs(lab):
    text = guide(lab)
    found = steps(text)
    assert len(found) >= 4
    for heading, body in found.items():
        assert re.search(r"\(약 \d+분\)", heading), "%s: no time in %s" % (lab, heading)
        assert sample_outputs(body)[0] >= 1, "%s: no 예시 출력 block in %s" % (lab, heading)
    labelled, unlabelled = sample_outputs(text)
    assert unlabelled == [], "%s: output blocks must say 예시 출력" % lab
    assert labelled >= 2 * len(found)


@pytest.mark.parametrize("lab", LAB_IDS)
def test_every_question_has_an_answer(lab):
    text, key = guide(lab), answers(lab)
    assert "(answers.ko.md)" in text, "%s: link answers.ko.md from the guide" % lab
    asked = re.findall(r"생각해 보세요 (\d+)", text)
    answered = re.findall(r"^## 생각해 보세요 (\d+)", key, flags=re.M)
    assert asked and len(asked) == len(set(asked)), "%s: number the questions once each" % lab
    assert sorted(asked) == sorted(answered), "%s: questions %s, answers %s" % (lab, asked, answered)
    for n, body in re.findall(r"^## 생각해 보세요 (\d+)[^\n]*\n(.*?)(?=^## |\Z)", key, flags=re.M | re.S):
        assert len(re.findall(r"[\uac00-\ud7a3]", body)) >= 60, "%s: answer %s is too short" % (lab, n)


@pytest.mark.parametrize("lab", LAB_IDS)
def test_guide_says_reset_and_scope(lab):
    text = guide(lab)
    assert "ansible-playbook playbooks/lab-reset.yml -e lab=%s" % lab in text
    heading = re.search(r"^##+ .*망가뜨리고 고치기.*$", text, flags=re.M)
    assert heading, "%s: no 망가뜨리고 고치기 exercise" % lab


@pytest.mark.parametrize("lab", LAB_IDS)
def test_guide_follows_the_glossary(lab):
    forbidden = glossary_forbidden()
    for name, text in (("guide.ko.md", guide(lab)), ("answers.ko.md", answers(lab))):
        used = sorted(bad for bad in forbidden if bad in text)
        assert used == [], "%s/%s: %s" % (lab, name, ", ".join("%s -> %s" % (b, forbidden[b]) for b in used))
        assert spaced_particles(text) == [], "%s/%s: no space before a particle" % (lab, name)


def test_glossary_lists_terms_and_variants():
    forbidden = glossary_forbidden()
    assert {"파드", "디플로이먼트", "라벨", "시크릿"} <= set(forbidden)
    assert forbidden["파드"] == "Pod"
    assert spaced_particles(GLOSSARY.read_text(encoding="utf-8")) == []


def test_guide_rules_catch_old_mistakes():
    """Each rule fails on the forms the old guides used."""
    old = ("```bash\nkubectl -n online-shop get pods\nkubectl get pods\n"
           "curl -H 'Host: shop.kubelab.local' http://127.0.0.1:20001/\n"
           "wget http://api.online-shop.svc.cluster.local/\nkubectl drain node1\nkubectl get ns online-shop\n```\n")
    problems = prefix_problems(old, {"online-shop"})
    assert len(problems) == 6, problems
    good = ("```bash\nkubectl -n ${NS_PREFIX}online-shop get pods\nwget http://api.${NS_PREFIX}online-shop.svc/\n"
            "kubectl get ns ${NS_PREFIX}online-shop\n```\n> **강사 전용**\n>\n> ```bash\n> kubectl drain node1\n> ```\n")
    assert prefix_problems(good, {"online-shop"}) == []
    assert spaced_particles("RBAC 을 쓰고 `web` 의 Pod 가 10 으로") == ["C 을", "` 의", "d 가", "0 으로"]
    assert spaced_particles("RBAC을 쓰고 3 이상, Pod 이름, `web` 디플로이\n```\nPod 가\n```") == []
    assert sample_outputs("a\n```text\nx\n```\n예시 출력:\n\n```text\ny\n```\n") == (1, ["a"])
    assert steps("### 1단계: a (약 5분)\nx\n## 관찰할 점\ny") == {"### 1단계: a (약 5분)": "\nx"}
