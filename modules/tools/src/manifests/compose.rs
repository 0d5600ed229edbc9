//! compose.yaml: the split topology, a service per module and the gateway, with the
//! all-in-one container behind the `monolith` profile and a broker behind a profile each,
//! in the subset of Compose that both `docker compose` and Debian's docker-compose 1.29
//! understand.

use runtime::module::Module;

use super::prose::{and_list, comment, describe, generated_by, names};

/// compose.yaml for the modules of `modules`, in their order.
pub(super) fn render(modules: &[&Module]) -> String {
    let mut out = header(modules);
    out += SHARED;
    out += "services:\n";
    for module in modules {
        out += &service(module, modules);
    }
    out += &gateway(modules);
    out += MONOLITH;
    out += BROKERS;
    out += SECRETS;
    out += "volumes:\n";
    for module in modules {
        out += &format!("  {}-data: {{}}\n", module.name);
    }
    out += "  monolith-data: {}\n";
    for broker in ["nats", "redis", "rabbitmq", "kafka"] {
        out += &format!("  {broker}-data: {{}}\n");
    }
    out
}

fn header(modules: &[&Module]) -> String {
    let names = names(modules);
    let urls: Vec<String> = names.iter().map(|n| format!("http://{n}:8080")).collect();
    let about = format!(
        "The split topology: a gateway and one container per module ({}), on one bridge \
         network where each finds the others by service name — the default peer URLs ({}) \
         need no flag.",
        and_list(&names),
        urls.join(", "),
    );
    comment("", &about) + "#\n" + &generated_by("cleave manifests compose > compose.yaml") + HOW_TO
}

/// How to start it, and the settings it reads from the environment.
const HOW_TO: &str = r#"#
#   docker build -t cleave .
#   docker compose up -d                                # or: docker-compose up -d
#   docker compose --profile monolith up -d monolith    # the all-in-one container instead
#
# Events between the modules go over HTTP unless CLEAVE_EVENT_BUS names a broker; each
# broker is a service behind a profile of its own name (docs/events.md compares them):
#
#   CLEAVE_EVENT_BUS=nats://nats:4222 docker compose --profile nats up -d
#   CLEAVE_EVENT_BUS=redis://redis:6379 docker compose --profile redis up -d
#   CLEAVE_EVENT_BUS=amqp://cleave:cleave@rabbitmq:5672/%2f docker compose --profile rabbitmq up -d
#   CLEAVE_EVENT_BUS=kafka://kafka:9092 docker compose --profile kafka up -d
#
# The modules deliver events to each other on internal routes that only holders of a
# shared token may call; it is a Compose secret read from the file ./internal-token (or
# CLEAVE_INTERNAL_TOKEN_SECRET), which the containers' user (10001) must be able to read:
#
#   head -c 32 /dev/urandom | base64 > internal-token && chmod 644 internal-token
#
# CLEAVE_IMAGE names the image (default: cleave); CLEAVE_PUBLISH is where the gateway (or
# the monolith) is published on the host (default: 8080, on every interface).
#
# Kept to what both `docker compose` and Debian's docker-compose 1.29 understand.

"#;

/// What every container shares, and what the modules' containers add.
const SHARED: &str = r#"x-cleave: &cleave
  image: ${CLEAVE_IMAGE:-cleave}
  restart: unless-stopped
  healthcheck:
    test: ["CMD", "cleave", "probe"]
    interval: 2s
    timeout: 3s
    retries: 15
    start_period: 10s

# The modules of a split: they call each other's internal routes with the token.
x-module: &module
  environment:
    CLEAVE_INTERNAL_TOKEN_FILE: /run/secrets/internal-token
    CLEAVE_EVENT_BUS: ${CLEAVE_EVENT_BUS:-http}
  secrets: ["internal-token"]

"#;

fn service(module: &Module, modules: &[&Module]) -> String {
    let name = module.name;
    comment("  ", &describe(module, modules))
        + &format!(
            "  {name}:\n    <<: [*cleave, *module]\n    command: [\"--role={name}\"]\n    \
             volumes: [\"{name}-data:/data\"]\n\n"
        )
}

fn gateway(modules: &[&Module]) -> String {
    let about = "The gateway: the public API, served by calling each module's service. It \
                 calls only public routes, so it holds no internal token. It starts once \
                 every module answers its health check.";
    let mut out = comment("  ", about);
    out += "  gateway:\n";
    out += "    <<: *cleave\n";
    out += "    command: [\"--role=gateway\"]\n";
    out += "    ports: [\"${CLEAVE_PUBLISH:-8080}:8080\"]\n";
    out += "    depends_on:\n";
    for module in modules {
        out += &format!(
            "      {}:\n        condition: service_healthy\n",
            module.name
        );
    }
    out + "\n"
}

const MONOLITH: &str = r#"  # Every module and the gateway in one container, started with the `monolith` profile.
  # Its events stay in memory, so it needs no internal token.
  monolith:
    <<: *cleave
    profiles: ["monolith"]
    command: ["--role=all"]
    ports: ["${CLEAVE_PUBLISH:-8080}:8080"]
    volumes: ["monolith-data:/data"]

"#;

/// A broker per profile, each keeping what it has confirmed on a volume.
const BROKERS: &str = r#"  # NATS JetStream, with its store on a volume.
  nats:
    image: ${CLEAVE_NATS_IMAGE:-nats:2}
    profiles: ["nats"]
    command: ["-js", "-sd", "/data"]
    volumes: ["nats-data:/data"]

  # Redis, writing every change to its append-only file before it answers: what cleave's
  # promise needs of it.
  redis:
    image: ${CLEAVE_REDIS_IMAGE:-redis:7}
    profiles: ["redis"]
    command: ["redis-server", "--appendonly", "yes", "--appendfsync", "always"]
    volumes: ["redis-data:/data"]

  # RabbitMQ. Its store is kept under its host name, so the host name is fixed; its user
  # `guest` may connect only from its own host, hence a user of cleave's.
  rabbitmq:
    image: ${CLEAVE_RABBITMQ_IMAGE:-rabbitmq:3}
    profiles: ["rabbitmq"]
    hostname: rabbitmq
    environment:
      RABBITMQ_DEFAULT_USER: cleave
      RABBITMQ_DEFAULT_PASS: cleave
    volumes: ["rabbitmq-data:/var/lib/rabbitmq"]

  # Kafka, one node that is both broker and controller (KRaft), advertised by its service
  # name. One node keeps a confirmed event through a crash of its process, not of its
  # disk: a cluster of three, with min.insync.replicas 2, keeps it through the loss of one.
  kafka:
    image: ${CLEAVE_KAFKA_IMAGE:-apache/kafka:3.9.1}
    profiles: ["kafka"]
    environment:
      KAFKA_NODE_ID: 1
      KAFKA_PROCESS_ROLES: broker,controller
      KAFKA_LISTENERS: PLAINTEXT://:9092,CONTROLLER://:9093
      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:9092
      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
      KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka:9093
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1
      KAFKA_LOG_DIRS: /var/lib/kafka/data
    volumes: ["kafka-data:/var/lib/kafka/data"]

"#;

const SECRETS: &str = r#"secrets:
  internal-token:
    file: ${CLEAVE_INTERNAL_TOKEN_SECRET:-./internal-token}

"#;
