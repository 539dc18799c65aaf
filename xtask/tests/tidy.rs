//! Conventions no compiler checks, over every file git tracks (as rust-analyzer's tidy test does): every Rust file
//! opens with a `//!` doc saying what it is, no text points at documents outside the repository, and no stale
//! phrase from the project's early drafts survives.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root: the parent of xtask's directory.
fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The files git tracks (and new ones not ignored), relative to the root.
fn tracked_files() -> Vec<PathBuf> {
    let output = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(root())
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git ls-files failed");
    let files: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|path| root().join(path).is_file())
        .collect();
    assert!(
        files.iter().any(|path| path.ends_with("Cargo.toml")),
        "the listing sees the workspace"
    );
    files
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extensions.contains(&extension))
}

/// Phrases that must not appear, with the reason.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "taskqueue-api.md",
        "cite docs/wire-format.md: documents outside the repository are not shipped",
    ),
    (
        "seed document",
        "say \"the scope table (docs/wire-format.md §7)\"",
    ),
    ("seed's", "say \"the scope table (docs/wire-format.md §7)\""),
    ("a later step", "stale: say what exists now"),
    ("this first layer", "stale: say what exists now"),
];

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let missing: Vec<String> = tracked_files()
        .into_iter()
        .filter(|path| has_extension(path, &["rs"]))
        .filter(|path| {
            let text = std::fs::read_to_string(root().join(path)).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` doc saying what they are:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn no_text_points_outside_the_repository_or_at_stale_plans() {
    let mut found = Vec::new();
    for path in tracked_files() {
        // This file names the phrases it forbids.
        if path.ends_with("tidy.rs")
            || !has_extension(&path, &["rs", "md", "toml", "yaml", "yml", "snap"])
        {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root().join(&path)) else {
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            for (phrase, why) in FORBIDDEN {
                if line.contains(phrase) {
                    found.push(format!(
                        "{}:{}: `{phrase}`: {why}",
                        path.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
