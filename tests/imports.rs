//! No crate of the workspace has a cycle among its modules: each module's imports of its
//! siblings (`crate::x`, `crate::{x, y}`) form a graph without loops, so that every
//! module can be read, and tested, after the ones it uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source folders of every crate: the binary's, and each one under `modules/`.
fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("modules")).expect("modules/ is readable") {
        let dir = entry.expect("a directory entry").path();
        found.extend(
            [dir.join("src"), dir.join("api/src")]
                .into_iter()
                .filter(|src| src.is_dir()),
        );
    }
    found
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The siblings a file names through `crate::`, outside comments and its tests.
fn imports(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut names = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (_, rest) in line
            .match_indices("crate::")
            .map(|(at, _)| line.split_at(at + 7))
        {
            let group = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or_default(),
                None => rest,
            };
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
    }
    names
}

/// Each top-level module of the crate at `src` and the siblings it imports.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in sources(src) {
        let relative = file.strip_prefix(src).expect("under its folder");
        let first = relative
            .iter()
            .next()
            .expect("a file name")
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        files.entry(module).or_default().push(file);
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(module, paths)| {
            let uses = paths
                .iter()
                .flat_map(|p| imports(&std::fs::read_to_string(p).expect("a readable source")))
                .filter(|name| name != module && modules.contains(name))
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// A cycle through `from`, if there is one: the path that leads back to it.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("a path is never empty");
        for next in graph.get(last).into_iter().flatten() {
            if next == from {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push([path.clone(), vec![next.clone()]].concat());
            }
        }
    }
    None
}

#[test]
fn no_crate_has_an_import_cycle() {
    let mut cycles = Vec::new();
    for src in crates() {
        let graph = graph(&src);
        assert!(!graph.is_empty(), "no modules found in {}", src.display());
        if let Some(cycle) = graph.keys().find_map(|m| cycle_from(&graph, m)) {
            cycles.push(format!("{}: {}", src.display(), cycle.join(" → ")));
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(cycle_from(&graph, "a").unwrap(), ["a", "b", "c", "a"]);
    let imported = imports("use crate::{db::Db, events};\nuse crate::trace;\n// crate::old");
    assert_eq!(
        imported,
        BTreeSet::from(["db".into(), "events".into(), "trace".into()])
    );
}
