//! The Kubernetes files that follow the list of modules: the microservices overlay, which
//! includes the workload of `base/` once per role, and each role's kustomization. The
//! base, the monolith overlay and the internal-token component name no module, so they
//! stay hand-written.

use std::path::PathBuf;

use runtime::module::Module;

use super::prose::{and_list, comment, describe, generated_by, names, token_use};

/// Where the generated files go, under the directory of the manifests.
const SPLIT: &str = "overlays/microservices";
/// The split with modules calling each other over gRPC.
const SPLIT_GRPC: &str = "overlays/microservices-grpc";
/// The split with events between its processes carried by Kafka.
const SPLIT_KAFKA: &str = "overlays/microservices-kafka";

/// Each file, by its path under the directory of the manifests: the overlay of the split,
/// the gateway's kustomization, then each module's.
pub(super) fn render(modules: &[&Module]) -> Vec<(PathBuf, String)> {
    let gateway = role(
        "gateway",
        &format!(
            "The gateway: the public API, served by calling the Services of {}. It calls only \
             public routes, so it holds no internal token.",
            and_list(&names(modules))
        ),
        false,
    );
    let split = PathBuf::from(SPLIT);
    let mut files = vec![
        (split.join("kustomization.yaml"), overlay(modules)),
        (
            PathBuf::from(SPLIT_GRPC).join("kustomization.yaml"),
            on_split(SPLIT_GRPC, GRPC_ABOUT, GRPC_OVERLAY_REST),
        ),
        (
            PathBuf::from(SPLIT_KAFKA).join("kustomization.yaml"),
            on_split(SPLIT_KAFKA, KAFKA_ABOUT, KAFKA_OVERLAY_REST),
        ),
        (split.join("gateway/kustomization.yaml"), gateway),
    ];
    for module in modules {
        let about = format!("{} {}", describe(module, modules), token_use(module));
        files.push((
            split.join(module.name).join("kustomization.yaml"),
            role(module.name, &about, true),
        ));
    }
    files
}

/// The overlay of the split: the base's flags, and every role.
fn overlay(modules: &[&Module]) -> String {
    let services: Vec<String> = modules.iter().map(|m| format!("`{}`", m.name)).collect();
    let first = modules.first().map_or("", |m| m.name);
    let about = format!(
        "The split: a Deployment and a Service per role. The Services {} are the hosts of \
         the default peer URLs (http://{first}:8080, …), so no process needs a URL flag. \
         `gateway` serves the public API and is the Service to expose (an Ingress, or a \
         LoadBalancer Service in an overlay of your own); the modules' Services are for each \
         other and the gateway.",
        and_list(&services),
    );
    let mut out = comment("", &about);
    out += "#\n#   kubectl apply -k deploy/k8s/overlays/microservices\n#\n";
    out += &generated_by("cleave manifests k8s");
    out += KUSTOMIZATION;
    out += "\nresources:\n  - ../../base\n  - gateway\n";
    for module in modules {
        out += &format!("  - {}\n", module.name);
    }
    out + OVERLAY_REST
}

/// An overlay on the split at `path`: `about` as its heading comment, how to apply it, then
/// `rest`, its resources and what it changes.
fn on_split(path: &str, about: &str, rest: &str) -> String {
    let mut out = comment("", about);
    out += &format!("#\n#   kubectl apply -k deploy/k8s/{path}\n#\n");
    out += &generated_by("cleave manifests k8s");
    out += KUSTOMIZATION;
    out + rest
}

/// The split over gRPC: the split's overlay with `CLEAVE_TRANSPORT=grpc`, and the probes
/// that ask whether the process runs (startup, liveness) asking the standard gRPC health
/// service on the same port, as Kubernetes' gRPC probes do. Readiness stays `/readyz`,
/// which asks the process's own databases; the gRPC health service says only that the
/// process serves.
const GRPC_ABOUT: &str = "The split with modules calling each other, and delivering events, \
    over gRPC (docs/grpc.md): the microservices overlay with CLEAVE_TRANSPORT=grpc, and every \
    container's startup and liveness probes asking the standard gRPC health service \
    (grpc.health.v1) on the same port. Readiness stays /readyz, which asks the process's own \
    databases.";

/// The split with its events carried by a Kafka cluster the operator runs (with Strimzi,
/// say): only the bus changes, so the overlay merges one value into the split's.
const KAFKA_ABOUT: &str = "The split with events between its processes carried by Kafka \
    (docs/events.md, \"Kafka\"): the microservices overlay with CLEAVE_EVENT_BUS naming the \
    brokers to bootstrap from. The cluster is yours to run (Strimzi, a managed service); \
    cleave makes a topic of one partition per producer and consumer, with the cluster's \
    default replication factor, unless you made it first. For what a confirmed event \
    promises, give the cluster replication factor 3 and min.insync.replicas 2. Every process \
    of a consuming module reads its topics; its place in each is kept in its own database.";

/// The Kafka overlay's flag: the bootstrap brokers, by the Service of a Strimzi cluster
/// named `cleave` in the namespace `kafka`; change it to yours.
const KAFKA_OVERLAY_REST: &str = r#"
resources:
  - ../microservices

configMapGenerator:
  - name: cleave-config
    behavior: merge
    literals:
      - CLEAVE_EVENT_BUS=kafka://cleave-kafka-bootstrap.kafka:9092
"#;

/// The gRPC overlay's flag and probes.
const GRPC_OVERLAY_REST: &str = r#"
resources:
  - ../microservices

configMapGenerator:
  - name: cleave-config
    behavior: merge
    literals:
      - CLEAVE_TRANSPORT=grpc

patches:
  - target:
      kind: Deployment
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/startupProbe
        value:
          grpc:
            port: 8080
          periodSeconds: 2
          timeoutSeconds: 2
          failureThreshold: 30
      - op: replace
        path: /spec/template/spec/containers/0/livenessProbe
        value:
          grpc:
            port: 8080
          periodSeconds: 10
          timeoutSeconds: 2
          failureThreshold: 3
"#;

const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

/// The overlay's token, labels and image.
const OVERLAY_REST: &str = r#"
# The secret the modules share for their internal routes (event delivery), mounted as a
# file by components/internal-token. EXAMPLE VALUE: replace it before deploying, with a
# secretGenerator of `behavior: replace` in an overlay of your own, reading a file
# that is not committed:
#
#   head -c 32 /dev/urandom | base64 > internal-token
#   secretGenerator:
#     - name: cleave-internal-token
#       behavior: replace
#       files: [internal-token]
#
# Anyone who knows the token can deliver events to the modules.
secretGenerator:
  - name: cleave-internal-token
    literals:
      - internal-token=REPLACE-ME-example-token-not-a-secret

labels:
  - pairs:
      app.kubernetes.io/part-of: cleave

images:
  - name: cleave
    newName: cleave
    newTag: latest
"#;

/// A role's kustomization: the base's workload, renamed for `name`, labelled with it and
/// running `--role=name`; with the internal token when `token`.
fn role(name: &str, about: &str, token: bool) -> String {
    let mut out = comment("", about) + "#\n" + &generated_by("cleave manifests k8s");
    out += KUSTOMIZATION;
    out += "\nresources:\n  - ../../../base/workload\n";
    if token {
        out += "\ncomponents:\n  - ../../../components/internal-token\n";
    }
    out + &format!(
        r#"
# Told apart from the other roles' pods: each Service and PodDisruptionBudget selects
# only its own role's pods.
labels:
  - pairs:
      app.kubernetes.io/component: {name}
    includeSelectors: true

patches:
  # The Deployment, the Service and the PodDisruptionBudget take the role's name.
  - target:
      name: cleave
    patch: |-
      - op: replace
        path: /metadata/name
        value: {name}
  - target:
      kind: Deployment
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/args
        value: ["--role={name}"]
"#
    )
}
