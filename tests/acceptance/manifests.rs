//! The deployment files that follow the list of modules: compose.yaml and the split's
//! Kubernetes overlay are committed as `cleave manifests` generates them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tempfile::TempDir;

use crate::committed;
use crate::support::cleave_command;

/// The Kubernetes manifests, and the part of them that `cleave manifests k8s` writes.
const K8S: &str = "deploy/k8s";
const SPLIT: &str = "overlays/microservices";

/// `cleave manifests <args>`, which must succeed; what it printed.
fn manifests(args: &[&str]) -> String {
    let output = cleave_command()
        .arg("manifests")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the cleave binary runs");
    assert!(
        output.status.success(),
        "`cleave manifests {}` failed: {output:?}",
        args.join(" ")
    );
    String::from_utf8(output.stdout).expect("the output is UTF-8")
}

/// Every file under `dir`, by its path relative to `root`.
fn files_under(root: &Path, dir: &Path) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(root.join(dir)).expect("the directory is readable") {
        let path = dir.join(entry.expect("the directory is readable").file_name());
        if root.join(&path).is_dir() {
            files.extend(files_under(root, &path));
        } else {
            files.insert(path);
        }
    }
    files
}

#[test]
fn compose_yaml_is_the_one_the_binary_prints() {
    committed::check(
        "compose.yaml",
        &manifests(&["compose"]),
        "manifests::",
        "cargo run -q -- manifests compose > compose.yaml",
    );
}

/// Exactly the files of the split's overlay: the same text, and none left over from a
/// module no longer in the list.
#[test]
fn the_split_kubernetes_overlay_is_the_one_the_binary_writes() {
    let out = TempDir::new().expect("a temporary directory");
    let dir = out.path().to_str().expect("UTF-8 temporary path");
    manifests(&["k8s", "--dir", dir]);
    let generated = files_under(out.path(), Path::new(SPLIT));
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join(K8S);
    let stale: Vec<_> = files_under(&repository, Path::new(SPLIT))
        .difference(&generated)
        .map(|path| Path::new(K8S).join(path))
        .collect();
    assert!(
        stale.is_empty(),
        "`cleave manifests k8s` no longer writes {stale:?}: remove them"
    );
    for path in generated {
        let text = std::fs::read_to_string(out.path().join(&path)).expect("a written file");
        let path = Path::new(K8S).join(path);
        committed::check(
            path.to_str().expect("UTF-8 path"),
            &text,
            "manifests::",
            "cargo run -q -- manifests k8s",
        );
    }
}
