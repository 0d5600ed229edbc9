//! Files the repository commits and the binary generates: a committed copy must be what
//! the binary makes now, so that a change to the code or to the list of modules cannot
//! leave it behind. `CLEAVE_BLESS=1` rewrites the copies instead of comparing them.

use std::path::Path;

/// Checks that the file at `path`, relative to the repository, holds `generated`, or with
/// `CLEAVE_BLESS=1` writes it there. On a difference, names the first line that differs,
/// the `tests` to bless it with, and `command`, which regenerates it too.
pub(crate) fn check(path: &str, generated: &str, tests: &str, command: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var("CLEAVE_BLESS").as_deref() == Ok("1") {
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("the file's directory is writable");
        }
        std::fs::write(&file, generated).expect("the file is writable");
        eprintln!("wrote {path}");
        return;
    }
    let regenerate = format!(
        "Regenerate it with `CLEAVE_BLESS=1 cargo test --test acceptance {tests}` \
         (or `{command}`) and review the difference."
    );
    let Ok(committed) = std::fs::read_to_string(&file) else {
        panic!("{path} is generated but not committed. {regenerate}");
    };
    if generated != committed {
        let (line, (ours, theirs)) = generated
            .lines()
            .zip(committed.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((
                generated.lines().count().min(committed.lines().count()),
                ("(end)", "(end)"),
            ));
        panic!(
            "{path} differs from what the code generates, first at line {}:\n  \
             generated: {ours}\n  committed: {theirs}\n{regenerate}",
            line + 1
        );
    }
}
