//! The module layering of taskqueue-server, read from its sources: imports
//! run one way. `AppState` (module `state`) is built from modules below it
//! (configuration, metrics registry, token store, store watcher), and none
//! of them imports it back, directly or through another module; the modules
//! that serve HTTP (`api`, `oauth`, `health`, `ops`, `scrape`, `app`,
//! `serve`) sit above it. The `init` command lives in `commands`, which the
//! configuration does not import.
//!
//! A module is a top-level module of the crate (`src/x.rs` or `src/x/`);
//! its imports are the top-level modules named after `crate::` in its code
//! (comments are skipped; `crate::{a::X, b::Y}` counts `a` and `b`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn server_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/server/src")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules of the crate: `src/x.rs` and `src/x/` (not the
/// binaries, not `lib.rs`).
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .expect("the server's sources")
        .map(|entry| entry.expect("a directory entry").path())
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            let keep = name != "lib"
                && name != "bin"
                && (path.is_dir() || path.extension().is_some_and(|ext| ext == "rs"));
            keep.then_some(name)
        })
        .collect()
}

/// The identifiers in `text`.
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
}

/// The top-level modules `code` names after `crate::`.
fn imports_of(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let named: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a::X, b}`: the first identifier of each item (to the end of the line: a group
                // spread over several lines is read from its first line on, below).
                group
                    .split(',')
                    .filter_map(|item| identifiers(item).next())
                    .collect()
            } else {
                identifiers(rest).take(1).collect()
            };
            found.extend(
                named
                    .into_iter()
                    .filter(|name| modules.contains(*name))
                    .map(str::to_owned),
            );
        }
    }
    // `use crate::{` followed by items on the next lines.
    let mut rest = code;
    while let Some(at) = rest.find("crate::{\n") {
        rest = &rest[at + "crate::{\n".len()..];
        let group = &rest[..rest.find('}').unwrap_or(rest.len())];
        found.extend(
            group
                .split(',')
                .filter_map(|item| identifiers(item).next())
                .filter(|name| modules.contains(*name))
                .map(str::to_owned),
        );
    }
    found
}

/// Module → the modules it imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = server_src();
    let modules = modules(&src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let relative = file.strip_prefix(&src).expect("below src");
        let top = relative
            .components()
            .next()
            .and_then(|first| first.as_os_str().to_str())
            .map(|first| first.trim_end_matches(".rs").to_owned())
            .expect("a file name");
        if !modules.contains(&top) {
            continue;
        }
        let code = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let imports = imports_of(&code, &modules);
        graph
            .entry(top.clone())
            .or_default()
            .extend(imports.into_iter().filter(|module| *module != top));
    }
    graph
}

/// The chain of imports from `from` to `to`, if there is one.
fn path_between(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![from.to_owned()]];
    while let Some(path) = stack.pop() {
        let last = path.last().expect("a path is never empty").clone();
        if last == to && path.len() > 1 {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in graph.get(&last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}

#[test]
fn the_parsing_sees_the_imports() {
    let graph = import_graph();
    let api = graph.get("api").cloned().unwrap_or_default();
    assert!(
        api.contains("state") && api.contains("config"),
        "api imports the state and the configuration: {api:?}"
    );
    let state = graph.get("state").cloned().unwrap_or_default();
    assert!(
        state.contains("config"),
        "state holds the configuration: {state:?}"
    );
}

#[test]
fn no_module_below_the_state_imports_it_back() {
    let graph = import_graph();
    if let Some(cycle) = path_between(&graph, "state", "state") {
        panic!(
            "layering violation: imports run back to `state`: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_state_imports_none_of_the_modules_that_serve_http() {
    let graph = import_graph();
    for serving in [
        "api", "oauth", "health", "ops", "scrape", "app", "serve", "conn",
    ] {
        if let Some(path) = path_between(&graph, "state", serving) {
            panic!(
                "layering violation: `state` reaches `{serving}`: {}",
                path.join(" -> ")
            );
        }
    }
}

#[test]
fn the_configuration_does_not_import_the_commands() {
    let graph = import_graph();
    assert!(
        graph.contains_key("commands"),
        "`init` lives in the `commands` module: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    if let Some(path) = path_between(&graph, "config", "commands") {
        panic!(
            "layering violation: the configuration reaches the commands: {}",
            path.join(" -> ")
        );
    }
}
