//! The product's image and its containers, driven through the docker CLI the way a user
//! drives them. Each test works in a [`Scope`] of its own: every container, network and
//! volume it makes is named with the scope's unique prefix and removed when the scope is
//! dropped, whether the test passed or failed.

use std::collections::HashMap;
use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::NamedTempFile;
use uuid::Uuid;

use crate::support::{poll_until, Module};

/// The tag the tests give the image they build.
const IMAGE: &str = "cleave:acceptance";
/// The base `scripts/docker-base.sh` makes from Debian's packages, for engines that reach
/// no registry; without it, the image is built on Debian's slim image.
const OFFLINE_BASE: &str = "cleave-base:bookworm";
const FALLBACK_BASE: &str = "debian:bookworm-slim";
/// A container starts in well under a second; a loaded machine running tests side by side
/// can take many times that.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(60);
const LOG_TAIL_LINES: &str = "200";

/// Whether a Docker engine answers. Where `CLEAVE_REQUIRE_DOCKER` is set (CI), one that
/// does not is a failure; elsewhere the container tests are skipped.
pub(crate) fn available() -> bool {
    static ANSWERS: OnceLock<bool> = OnceLock::new();
    let answers =
        *ANSWERS.get_or_init(|| docker(&["info", "--format", "{{.ServerVersion}}"]).is_ok());
    crate::support::found_or_skipped(answers, "CLEAVE_REQUIRE_DOCKER", "no Docker engine answers")
}

/// Runs `docker args`; its trimmed standard output, or what went wrong.
pub(crate) fn docker(args: &[&str]) -> Result<String, String> {
    run(Command::new("docker").args(args))
}

fn run(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|err| format!("{command:?} did not start: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "{command:?} failed with {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs a docker command from async code without holding up the runtime's other tasks.
async fn docker_async(args: &[&str]) -> Result<String, String> {
    tokio::task::block_in_place(|| docker(args))
}

/// The image under test, built once per test run from this workspace's Dockerfile with
/// the very binary under test (the offline path of the Dockerfile). It is named by its
/// id: the tag may meanwhile name an image that another checkout's tests built.
pub(crate) fn image() -> &'static str {
    static BUILT: OnceLock<Result<String, String>> = OnceLock::new();
    match BUILT.get_or_init(build_image) {
        Ok(id) => id,
        Err(err) => panic!("the image does not build: {err}"),
    }
}

/// Builds the image; its id.
fn build_image() -> Result<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = Path::new(env!("CARGO_BIN_EXE_cleave"))
        .strip_prefix(root)
        .map_err(|_| "the binary under test lies outside the workspace, out of the build context")?
        .to_string_lossy()
        .into_owned();
    let base = std::env::var("CLEAVE_DOCKER_BASE").unwrap_or_else(|_| {
        match docker(&["image", "inspect", "--format", "{{.Id}}", OFFLINE_BASE]) {
            Ok(_) => OFFLINE_BASE.to_owned(),
            Err(_) => FALLBACK_BASE.to_owned(),
        }
    });
    let build_image = format!("BUILD_IMAGE={base}");
    let runtime_image = format!("RUNTIME_IMAGE={base}");
    let binary = format!("CLEAVE_BINARY={binary}");
    let context = root.to_string_lossy();
    docker(&[
        "build",
        "--quiet",
        "--tag",
        IMAGE,
        "--build-arg",
        &build_image,
        "--build-arg",
        &runtime_image,
        "--build-arg",
        &binary,
        &context,
    ])
}

/// The things one test makes, all named `<prefix>-…`, removed on drop.
pub(crate) struct Scope {
    prefix: String,
}

impl Scope {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Self {
            prefix: format!(
                "cleave-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    /// A name in this scope.
    pub(crate) fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    fn listed(&self, kind: &str) -> Vec<String> {
        let filter = format!("name={}", self.prefix);
        let ids = match kind {
            "container" => docker(&["ps", "--all", "--quiet", "--filter", &filter]),
            _ => docker(&[kind, "ls", "--quiet", "--filter", &filter]),
        };
        ids.unwrap_or_default().lines().map(str::to_owned).collect()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let containers = self.listed("container");
        if std::thread::panicking() {
            for id in &containers {
                let name = docker(&["inspect", "--format", "{{.Name}}", id]).unwrap_or_default();
                let logs = Command::new("docker")
                    .args(["logs", "--tail", LOG_TAIL_LINES, id])
                    .output()
                    .map(|out| {
                        format!(
                            "{}{}",
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        )
                    })
                    .unwrap_or_default();
                eprintln!(
                    "----- log of container {name}, last {LOG_TAIL_LINES} lines -----\n{logs}"
                );
            }
        }
        // Best effort, in dependency order: a volume or network in use cannot be removed.
        for id in &containers {
            let _ = docker(&["rm", "--force", "--volumes", id]);
        }
        for id in self.listed("network") {
            let _ = docker(&["network", "rm", &id]);
        }
        for id in self.listed("volume") {
            let _ = docker(&["volume", "rm", "--force", &id]);
        }
    }
}

/// A module's container: `docker run -d` of the image with `--role=<role>`, data in the
/// named volume `<prefix>-<role>-data`, on `network` under the alias `<role>`: the host
/// name the other containers' default peer URLs use.
pub(crate) fn run_module(
    scope: &Scope,
    network: &str,
    role: &str,
    extra: &[&str],
) -> Result<String, String> {
    let name = scope.name(role);
    let volume = format!("{}:/data", scope.name(&format!("{role}-data")));
    let role_arg = format!("--role={role}");
    let mut args = vec![
        "run",
        "--detach",
        "--name",
        &name,
        "--network",
        network,
        "--network-alias",
        role,
        "--volume",
        &volume,
        // Checked every second instead of the image's five, so that tests need not wait.
        "--health-interval",
        "1s",
        "--env",
        "RUST_LOG=info",
        "--env",
        "NO_COLOR=1",
    ];
    args.extend_from_slice(extra);
    args.extend([image(), role_arg.as_str()]);
    docker(&args)?;
    Ok(name)
}

/// Waits until the container's `HEALTHCHECK` (`cleave probe`) reports it healthy.
pub(crate) async fn wait_healthy(container: &str) {
    poll_until(
        &format!("{container} to be healthy"),
        HEALTHY_TIMEOUT,
        || async {
            let state = docker_async(&[
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.Health.Status}}",
                container,
            ])
            .await?;
            match state.as_str() {
                "running healthy" => Ok(()),
                "exited unhealthy" | "exited starting" | "dead starting" => {
                    panic!("{container} stopped before it was healthy: {state}")
                }
                _ => Err(state),
            }
        },
    )
    .await;
}

/// A file holding a fresh internal token, readable by the containers' user: Compose
/// mounts a secret file as it is on the host.
fn internal_token_file() -> NamedTempFile {
    let mut file = NamedTempFile::new().expect("a temporary file");
    writeln!(file, "{}", Uuid::new_v4()).expect("the token is written");
    std::fs::set_permissions(file.path(), Permissions::from_mode(0o644))
        .expect("the token file's mode is set");
    file
}

/// `docker compose` where the engine's CLI has the plugin, else Debian's `docker-compose`.
fn compose_command() -> Command {
    static PLUGIN: OnceLock<bool> = OnceLock::new();
    if *PLUGIN.get_or_init(|| docker(&["compose", "version"]).is_ok()) {
        let mut command = Command::new("docker");
        command.arg("compose");
        command
    } else {
        Command::new("docker-compose")
    }
}

/// Where the host reaches a container's published port 8080: `http://127.0.0.1:PORT`.
pub(crate) fn published_url(container: &str) -> String {
    let address = docker(&["port", container, "8080/tcp"])
        .unwrap_or_else(|err| panic!("{container} publishes no port: {err}"));
    // One line per host address; the tests publish on 127.0.0.1 only.
    let first = address.lines().next().unwrap_or_default();
    format!("http://{first}")
}

/// The split topology as a container per process on a bridge network of their own, the gateway
/// published on a loopback port of the host. No container is given a peer URL: they find
/// each other by name.
pub(crate) struct Containers {
    containers: HashMap<&'static str, String>,
    /// The bridge network they talk on.
    network: String,
    gateway_url: String,
    // Compose's secret file, kept until the containers are gone.
    _secret: Option<NamedTempFile>,
    // Dropped last: it removes the containers.
    _scope: Scope,
}

impl Containers {
    /// `docker run` of each container of the split topology, as a user would type it.
    pub(crate) async fn start() -> Self {
        let scope = Scope::new();
        let network = scope.name("net");
        docker_async(&["network", "create", &network])
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let token = format!("CLEAVE_INTERNAL_TOKEN={}", Uuid::new_v4());
        let mut containers = HashMap::new();
        for role in Module::ALL.map(Module::name) {
            let name = tokio::task::block_in_place(|| {
                run_module(&scope, &network, role, &["--env", &token])
            })
            .unwrap_or_else(|err| panic!("{err}"));
            containers.insert(role, name);
        }
        let gateway = tokio::task::block_in_place(|| {
            run_module(
                &scope,
                &network,
                "gateway",
                &["--publish", "127.0.0.1::8080"],
            )
        })
        .unwrap_or_else(|err| panic!("{err}"));
        for name in containers.values().chain([&gateway]) {
            wait_healthy(name).await;
        }
        let gateway_url = published_url(&gateway);
        containers.insert("gateway", gateway);
        Self {
            containers,
            network,
            gateway_url,
            _secret: None,
            _scope: scope,
        }
    }

    /// `docker compose up` (or `docker-compose up`, version 1) of the repository's
    /// compose.yaml, with `profile`'s services only when one is named: the file's default
    /// split topology, or `monolith`.
    pub(crate) async fn compose(profile: Option<&str>) -> Self {
        let scope = Scope::new();
        let project = scope.name("compose");
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("compose.yaml");
        let secret = internal_token_file();
        let mut command = compose_command();
        command
            .args(["--project-name", &project, "--file"])
            .arg(&file)
            .env("CLEAVE_IMAGE", image())
            .env("CLEAVE_PUBLISH", "127.0.0.1:")
            .env("CLEAVE_INTERNAL_TOKEN_SECRET", secret.path());
        match profile {
            // The profile's one service, and not the default ones beside it.
            Some(profile) => command.args(["--profile", profile, "up", "--detach", profile]),
            None => command.args(["up", "--detach"]),
        };
        tokio::task::block_in_place(|| run(&mut command)).unwrap_or_else(|err| panic!("{err}"));

        let service = |name: &str| {
            let project = format!("label=com.docker.compose.project={project}");
            let service = format!("label=com.docker.compose.service={name}");
            docker(&["ps", "--quiet", "--filter", &project, "--filter", &service])
                .ok()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| panic!("compose started no {name} container"))
        };
        let services: &[(&'static str, &str)] = match profile {
            Some(monolith) => &[("gateway", monolith)],
            None => &[("gateway", "gateway")],
        };
        let modules = Module::ALL.map(|module| {
            let name = module.name();
            (name, profile.unwrap_or(name))
        });
        let containers: HashMap<&'static str, String> = services
            .iter()
            .chain(&modules)
            .map(|(role, name)| (*role, service(name)))
            .collect();
        for id in containers.values() {
            wait_healthy(id).await;
        }
        let gateway_url = published_url(&containers["gateway"]);
        let network = docker(&[
            "inspect",
            "--format",
            "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}",
            &containers["gateway"],
        ])
        .unwrap_or_else(|err| panic!("{err}"));
        Self {
            containers,
            network,
            gateway_url,
            _secret: Some(secret),
            _scope: scope,
        }
    }

    pub(crate) fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    fn container_of(&self, module: Module) -> &str {
        &self.containers[module.name()]
    }

    /// `docker kill`: SIGKILL, as in a crash.
    pub(crate) fn kill(&self, module: Module) {
        tokio::task::block_in_place(|| docker(&["kill", self.container_of(module)]))
            .unwrap_or_else(|err| panic!("{err}"));
    }

    /// `docker network disconnect`: the module's container is cut off the network, running
    /// on, with no route to the other containers and none from them.
    pub(crate) fn disconnect(&self, module: Module) {
        tokio::task::block_in_place(|| {
            docker(&[
                "network",
                "disconnect",
                &self.network,
                self.container_of(module),
            ])
        })
        .unwrap_or_else(|err| panic!("{err}"));
    }

    /// `docker network connect` of the module's container, under the name the others know
    /// it by.
    pub(crate) fn reconnect(&self, module: Module) {
        tokio::task::block_in_place(|| {
            docker(&[
                "network",
                "connect",
                "--alias",
                module.name(),
                &self.network,
                self.container_of(module),
            ])
        })
        .unwrap_or_else(|err| panic!("{err}"));
    }

    /// `docker start` of the same container (same volume), then waits until it is healthy.
    pub(crate) async fn restart(&self, module: Module) {
        let container = self.container_of(module);
        docker_async(&["start", container])
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        wait_healthy(container).await;
    }
}
