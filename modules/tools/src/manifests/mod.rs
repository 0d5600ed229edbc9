//! `cleave manifests`: the deployment files that follow the list of modules, generated from
//! it so that a module added to the list is deployed with it. compose.yaml is printed
//! whole; of deploy/k8s, only the overlay of the split and its roles are written, as the
//! rest names no module.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use runtime::module::Module;

mod compose;
mod k8s;
mod prose;

#[derive(Debug, Clone, Subcommand)]
pub enum Manifests {
    /// Print compose.yaml: a service per module, the gateway started once they are
    /// healthy, and the all-in-one container behind the `monolith` profile.
    Compose,
    /// Write the Kubernetes files that name the modules: the overlay
    /// overlays/microservices and a kustomization per role under it, on the hand-written
    /// base and components of --dir.
    K8s(K8sArgs),
}

#[derive(Debug, Clone, Args)]
pub struct K8sArgs {
    /// The directory of the kustomize manifests, holding base/, components/ and overlays/.
    #[arg(long, default_value = "deploy/k8s")]
    pub dir: PathBuf,
}

/// Prints or writes the files `what` names, for the modules of `modules`.
pub fn run(what: &Manifests, modules: &[&Module]) -> anyhow::Result<()> {
    match what {
        Manifests::Compose => print!("{}", compose::render(modules)),
        Manifests::K8s(args) => {
            for (path, text) in k8s::render(modules) {
                let path = args.dir.join(path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                tracing::info!(file = %path.display(), "written");
            }
        }
    }
    Ok(())
}
