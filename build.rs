//! Gives the binary the commit it is built from, as `CLEAVE_COMMIT`, for the
//! `cleave_build_info` metric: `CLEAVE_COMMIT` from the environment when set (an image built
//! without the repository's history), else what git says, else `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=CLEAVE_COMMIT");
    let commit = std::env::var("CLEAVE_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CLEAVE_COMMIT={commit}");
    // A new commit moves the branch's ref (or HEAD itself, when detached).
    let watched = ["HEAD".to_owned()]
        .into_iter()
        .chain(git(&["symbolic-ref", "-q", "HEAD"]));
    for reference in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &reference]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
