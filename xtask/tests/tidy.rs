//! Conventions no compiler checks, over every file git tracks (as rust-analyzer's tidy test does): every Rust file
//! opens with a `//!` doc saying what it is; every Markdown file a text names exists in the repository (documents
//! outside it are not shipped); no stale phrase from the project's early drafts survives; and no string constant
//! is defined in two crates (one crate defines it, the others use it: the API's through model, OAuth's through
//! auth).

use std::collections::BTreeMap;
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
const STALE_PHRASES: &[(&str, &str)] = &[
    ("a later step", "stale: say what exists now"),
    ("this first layer", "stale: say what exists now"),
];

/// The text files the text checks read.
const TEXT_EXTENSIONS: &[&str] = &["rs", "md", "toml", "yaml", "yml", "snap"];

/// Markdown file names that may be mentioned without existing in the repository, with the reason.
const NOT_IN_THE_REPOSITORY: &[(&str, &str)] = &[
    (
        "matrix.md",
        "the conformance harness writes this report (`--matrix`) under target/",
    ),
    (
        "m.md",
        "the conformance flag-parsing test passes it to `--matrix`; nothing reads it",
    ),
];

/// The text files to check, with their contents; this file is left out, as it names what it forbids.
fn text_files() -> Vec<(PathBuf, String)> {
    tracked_files()
        .into_iter()
        .filter(|path| {
            !path.ends_with("xtask/tests/tidy.rs") && has_extension(path, TEXT_EXTENSIONS)
        })
        .filter_map(|path| {
            let text = std::fs::read_to_string(root().join(&path)).ok()?;
            Some((path, text))
        })
        .collect()
}

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
fn no_stale_phrase_survives() {
    let mut found = Vec::new();
    for (path, text) in text_files() {
        for (number, line) in text.lines().enumerate() {
            for (phrase, why) in STALE_PHRASES {
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

#[test]
fn every_markdown_file_a_text_names_exists() {
    let tracked: Vec<String> = tracked_files()
        .iter()
        .map(|path| path.to_string_lossy().replace('\\', "/"))
        .collect();
    let exists = |mention: &str| {
        tracked.iter().any(|path| {
            path == mention
                || path.ends_with(&format!("/{mention}"))
                || mention.ends_with(&format!("/{path}"))
        })
    };
    let mut found = Vec::new();
    for (path, text) in text_files() {
        for (number, line) in text.lines().enumerate() {
            for mention in markdown_mentions(line) {
                let name = mention.rsplit('/').next().unwrap_or(mention);
                let allowed = NOT_IN_THE_REPOSITORY
                    .iter()
                    .any(|(allowed, _)| *allowed == name);
                if !allowed && !exists(mention) {
                    found.push(format!(
                        "{}:{}: `{mention}` is not in the repository: restate what it says in docs/ and cite that",
                        path.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_string_constant_is_defined_in_two_crates() {
    // The normalized value, and where each crate defines it.
    let mut definitions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for path in tracked_files() {
        if !is_library_or_binary_source(&path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root().join(&path)) else {
            continue;
        };
        // Unit tests at the end of a file may repeat what they check.
        let code = text
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]");
        for (number, line) in code.enumerate() {
            let Some((name, value)) = string_constant(line) else {
                continue;
            };
            let normalized = value.trim_matches('/').to_ascii_lowercase();
            if normalized.chars().count() < 4 {
                continue;
            }
            definitions.entry(normalized).or_default().insert(
                crate_of(&path),
                format!("{}:{} {name}", path.display(), number + 1),
            );
        }
    }
    let repeated: Vec<String> = definitions
        .into_iter()
        .filter(|(_, crates)| crates.len() > 1)
        .map(|(value, crates)| {
            let places: Vec<String> = crates.into_values().collect();
            format!("{value:?} is defined in {}", places.join(", "))
        })
        .collect();
    assert!(
        repeated.is_empty(),
        "define each constant in one crate and use it from there (the API's in taskqueue-model, OAuth's in \
         taskqueue-auth):\n{}",
        repeated.join("\n")
    );
}

/// The paths ending in `.md` a line mentions: runs of path characters (letters, digits, `_`, `-`, `.`, `/`)
/// ending in `.md` followed by no further name character, with a file name before the extension.
fn markdown_mentions(line: &str) -> Vec<&str> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    let mut mentions = Vec::new();
    for (at, _) in line.match_indices(".md") {
        let end = at + ".md".len();
        if line[end..]
            .chars()
            .next()
            .is_some_and(|next| next.is_ascii_alphanumeric() || next == '_')
        {
            continue;
        }
        let start = line[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_path_char(*c))
            .last()
            .map_or(at, |(index, _)| index);
        let mention = &line[start..end];
        let stem = &mention[..mention.len() - ".md".len()];
        if stem.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            mentions.push(mention);
        }
    }
    mentions
}

/// The name and value of a one-line string constant: `const NAME: &str = "value";`, with any visibility.
fn string_constant(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let after = line
        .strip_prefix("pub ")
        .or_else(|| line.strip_prefix("pub(crate) "))
        .or_else(|| line.strip_prefix("pub(super) "))
        .unwrap_or(line);
    let declaration = after.strip_prefix("const ")?;
    let (name, rest) = declaration.split_once(':')?;
    let (_, value) = rest.split_once(" = \"")?;
    let value = value.strip_suffix("\";")?;
    (!value.contains('"') && !value.contains('\\')).then_some((name.trim(), value))
}

/// Whether `path` is a crate's library or binary code: under a `src/` directory, not a test module file.
fn is_library_or_binary_source(path: &Path) -> bool {
    let text = path.to_string_lossy().replace('\\', "/");
    has_extension(path, &["rs"])
        && text.contains("src/")
        && !text.ends_with("/tests.rs")
        && !text.contains("/tests/")
        && !text.contains("/benches/")
        && !text.contains("/examples/")
}

/// The crate a path belongs to: `crates/NAME`, or the top-level directory (`conformance`, `xtask`).
fn crate_of(path: &Path) -> String {
    let mut parts = path.iter().map(|part| part.to_string_lossy());
    match parts.next() {
        Some(first) if first == "crates" => format!("crates/{}", parts.next().unwrap_or_default()),
        Some(first) => first.into_owned(),
        None => String::new(),
    }
}

#[test]
fn markdown_mentions_are_found_whole() {
    let cases: &[(&str, &[&str])] = &[
        ("see docs/wire-format.md §7", &["docs/wire-format.md"]),
        ("[the README](../README.md).", &["../README.md"]),
        (
            "(https://example.com/blob/main/docs/oauth-interop.md)",
            &["//example.com/blob/main/docs/oauth-interop.md"],
        ),
        ("`a.md` and `b_c-d.md`", &["a.md", "b_c-d.md"]),
        (
            "--matrix target/conformance/matrix.md",
            &["target/conformance/matrix.md"],
        ),
        ("ends with \".md\" or `*.md`", &[]),
        ("a .mdx file, a.md5 sum", &[]),
        ("format!(\"{dir}/matrix.md\")", &["/matrix.md"]),
    ];
    for (line, expected) in cases {
        assert_eq!(markdown_mentions(line), *expected, "{line:?}");
    }
}

#[test]
fn string_constants_are_read_from_one_line_declarations() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        ("const A: &str = \"x\";", Some(("A", "x"))),
        (
            "    pub const API_PATH: &str = \"/v1/\";",
            Some(("API_PATH", "/v1/")),
        ),
        (
            "pub(crate) const B: &'static str = \"y\";",
            Some(("B", "y")),
        ),
        ("const N: usize = 3;", None),
        ("const C: &str = OTHER;", None),
        ("const D: &str = \"a\\\"b\";", None),
        ("let e = \"const F: &str = \";", None),
    ];
    for (line, expected) in cases {
        assert_eq!(string_constant(line), *expected, "{line:?}");
    }
}
