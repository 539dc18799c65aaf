//! The architecture invariants of ARCHITECTURE.md, checked with `cargo tree`.
//!
//! Each test reads a crate's dependency tree (normal dependencies only, all
//! features unless said otherwise, every target platform) and fails naming
//! the forbidden crate and the path that pulls it in. The positive controls
//! prove the parsing sees dependencies at all: reqwest must be found under
//! taskqueue-transport, and under taskqueue-auth with its default features.
//!
//! reqwest is a normal dependency of taskqueue-transport and of
//! taskqueue-auth, there behind the default `http` feature (token endpoints,
//! metadata server); taskqueue-auth without default features, as the
//! reference server uses it, reaches no HTTP stack and no URL parser.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const MODEL: &str = "taskqueue-model";
const CLOCK: &str = "taskqueue-clock";
const AUTH: &str = "taskqueue-auth";
const TRANSPORT: &str = "taskqueue-transport";
const CLIENT: &str = "taskqueue-client";
const CONFORMANCE: &str = "taskqueue-conformance";
const SERVER: &str = "taskqueue-server";
const STORE: &str = "taskqueue-store";
const WORKER: &str = "taskqueue-worker";
const CLI: &str = "taskqueue-cli";
const XTASK: &str = "xtask";

/// Crates that speak HTTP or run async I/O.
const HTTP_STACK: &[&str] = &["reqwest", "hyper", "hyper-util", "h2", "http", "http-body"];

/// One package of a tree and the chain of packages from the root to it.
#[derive(Debug)]
struct Node {
    path: Vec<String>,
}

impl Node {
    fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    fn depth(&self) -> usize {
        self.path.len() - 1
    }

    fn display_path(&self) -> String {
        self.path.join(" -> ")
    }
}

/// Which features of the package a tree is resolved with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Features {
    /// `--all-features`: everything the package can pull in.
    All,
    /// The default features, as a plain dependent gets them.
    Default,
    /// `--no-default-features`: the package's core alone.
    NoDefault,
}

/// The dependency tree of `package` over the edge kinds `edges`, down to
/// `depth` levels if given, as one node per line of `cargo tree`.
fn tree(package: &str, edges: &str, depth: Option<u32>) -> Vec<Node> {
    tree_with(package, edges, depth, Features::All)
}

fn tree_with(package: &str, edges: &str, depth: Option<u32>, features: Features) -> Vec<Node> {
    let mut args = vec![
        "tree".to_owned(),
        "--locked".to_owned(),
        "--package".to_owned(),
        package.to_owned(),
        "--edges".to_owned(),
        edges.to_owned(),
    ];
    match features {
        Features::All => args.push("--all-features".to_owned()),
        Features::Default => {}
        Features::NoDefault => args.push("--no-default-features".to_owned()),
    }
    args.extend([
        "--target".to_owned(),
        "all".to_owned(),
        "--prefix".to_owned(),
        "depth".to_owned(),
        "--format".to_owned(),
        "{p}".to_owned(),
    ]);
    if let Some(depth) = depth {
        args.extend(["--depth".to_owned(), depth.to_string()]);
    }
    let stdout = cargo(&args);
    let nodes = parse_depth_prefixed(&stdout);
    assert_eq!(
        nodes.first().map(Node::name),
        Some(package),
        "`cargo {}` should start with {package}:\n{stdout}",
        args.join(" ")
    );
    nodes
}

/// Runs cargo from the workspace root and returns its stdout.
fn cargo(args: &[String]) -> String {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root");
    let output = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {cargo:?}: {error}"));
    assert!(
        output.status.success(),
        "`cargo {}` failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
}

/// Parses `cargo tree --prefix depth --format {p}` output: lines such as
/// `2serde_core v1.0.228 (*)`. The path of each node is rebuilt from the
/// depths, so a violation can name the chain that pulls a crate in.
fn parse_depth_prefixed(stdout: &str) -> Vec<Node> {
    let mut stack: Vec<String> = Vec::new();
    let mut nodes = Vec::new();
    for line in stdout.lines().filter(|line| !line.trim().is_empty()) {
        let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let depth: usize = line[..digits]
            .parse()
            .unwrap_or_else(|_| panic!("no depth prefix in cargo tree line `{line}`"));
        let name = line[digits..]
            .split_whitespace()
            .next()
            .unwrap_or_else(|| panic!("no package in cargo tree line `{line}`"));
        assert!(
            depth <= stack.len(),
            "cargo tree line `{line}` skips a level"
        );
        stack.truncate(depth);
        stack.push(name.to_owned());
        nodes.push(Node {
            path: stack.clone(),
        });
    }
    nodes
}

/// Fails listing every dependency of `package` (all features) whose name
/// `forbidden` rejects, with the path that pulls it in.
fn assert_no_dependency(package: &str, rule: &str, forbidden: impl Fn(&str) -> bool) {
    assert_no_dependency_with(package, Features::All, rule, forbidden);
}

fn assert_no_dependency_with(
    package: &str,
    features: Features,
    rule: &str,
    forbidden: impl Fn(&str) -> bool,
) {
    let nodes = tree_with(package, "normal", None, features);
    let mut violations = String::new();
    let mut seen = Vec::new();
    for node in nodes.iter().skip(1) {
        let name = node.name();
        if forbidden(name) && !seen.contains(&name) {
            seen.push(name);
            let _ = writeln!(violations, "  {}", node.display_path());
        }
    }
    assert!(
        violations.is_empty(),
        "layering violation: {package} ({features:?} features) must not depend on {rule}, but it does:\n{violations}"
    );
}

fn is_other_workspace_crate(package: &str) -> impl Fn(&str) -> bool + '_ {
    move |name| name.starts_with("taskqueue-") && name != package
}

/// The direct normal dependencies of `package`.
fn direct_dependencies(package: &str) -> Vec<String> {
    tree(package, "normal", Some(1))
        .into_iter()
        .filter(|node| node.depth() == 1)
        .map(|node| node.name().to_owned())
        .collect()
}

/// The workspace members, from `cargo tree --workspace --depth 0`.
fn workspace_members() -> Vec<String> {
    let stdout = cargo(
        &[
            "tree",
            "--locked",
            "--workspace",
            "--edges",
            "normal",
            "--depth",
            "0",
            "--prefix",
            "depth",
            "--format",
            "{p}",
        ]
        .map(str::to_owned),
    );
    parse_depth_prefixed(&stdout)
        .into_iter()
        .map(|node| node.name().to_owned())
        .collect()
}

#[test]
fn model_knows_nothing_about_http_async_runtimes_or_other_crates() {
    assert_no_dependency(
        MODEL,
        "an HTTP stack, tokio, or another taskqueue-* crate",
        |name| {
            HTTP_STACK.contains(&name) || name == "tokio" || is_other_workspace_crate(MODEL)(name)
        },
    );
}

#[test]
fn clock_knows_nothing_about_http_serde_or_other_crates() {
    assert_no_dependency(
        CLOCK,
        "an HTTP stack, serde, or another taskqueue-* crate",
        |name| {
            HTTP_STACK.contains(&name)
                || name == "serde"
                || name.starts_with("serde_")
                || is_other_workspace_crate(CLOCK)(name)
        },
    );
}

#[test]
fn auth_depends_on_neither_transport_nor_client() {
    assert_no_dependency(AUTH, "taskqueue-transport or taskqueue-client", |name| {
        [TRANSPORT, CLIENT].contains(&name)
    });
}

/// What the reference server builds on: `cargo tree -p taskqueue-auth
/// --no-default-features -e normal` holds no HTTP client or server.
#[test]
fn auth_without_default_features_reaches_no_http_stack() {
    assert_no_dependency_with(
        AUTH,
        Features::NoDefault,
        "an HTTP stack (only its default `http` feature may)",
        |name| {
            HTTP_STACK.contains(&name)
                || URL_STACK.contains(&name)
                || [TRANSPORT, CLIENT].contains(&name)
        },
    );
}

/// The crates of URL parsing and internationalized domain names, which only
/// HTTP code needs.
const URL_STACK: &[&str] = &[
    "url",
    "idna",
    "idna_adapter",
    "icu_normalizer",
    "icu_properties",
];

/// Libraries leave choices to their users: no crate forces serde_json's
/// `preserve_order` or tokio's macros on its dependents, with default
/// features (what a plain dependent gets).
#[test]
fn the_libraries_force_no_preserve_order_and_no_tokio_macros() {
    for package in [MODEL, CLOCK, AUTH, TRANSPORT, CLIENT] {
        assert_no_dependency_with(package, Features::Default, "tokio-macros", |name| {
            name == "tokio-macros"
        });
        let args = [
            "tree",
            "--locked",
            "--package",
            package,
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p} {f}",
        ]
        .map(str::to_owned);
        let stdout = cargo(&args);
        let serde_json: Vec<&str> = stdout
            .lines()
            .filter(|line| line.starts_with("serde_json "))
            .collect();
        assert!(
            serde_json
                .iter()
                .all(|line| !line.contains("preserve_order")),
            "{package} forces serde_json's `preserve_order` on its dependents: {serde_json:?}"
        );
        if package != CLOCK {
            assert!(
                !serde_json.is_empty(),
                "{package} uses serde_json: the check must see it"
            );
        }
    }
}

/// The server as a library (`default-features = false`): none of its
/// binary's crates (clap, tracing-subscriber, and rsa for `init`).
#[test]
fn server_as_a_library_brings_no_command_line_crates() {
    assert_no_dependency_with(
        SERVER,
        Features::NoDefault,
        "clap, tracing-subscriber or rsa (the `cli` feature's crates)",
        |name| ["clap", "tracing-subscriber", "rsa"].contains(&name),
    );
}

/// The harness without its `server` feature (mock and real targets only)
/// builds neither the reference server nor its stores, so no SQLite from C.
#[test]
fn the_harness_without_its_server_target_brings_no_server_and_no_sqlite() {
    assert_no_dependency_with(
        CONFORMANCE,
        Features::NoDefault,
        "the reference server or SQLite without its `server` feature",
        |name| name == SERVER || name == STORE || name == "rusqlite" || name == "libsqlite3-sys",
    );
    // The positive control: with its features it has the server target.
    assert!(
        tree(CONFORMANCE, "normal", None)
            .iter()
            .any(|node| node.name() == SERVER),
        "the harness's default features include the server target"
    );
}

#[test]
fn transport_does_not_depend_on_client() {
    assert_no_dependency(TRANSPORT, "taskqueue-client", |name| name == CLIENT);
}

#[test]
fn reqwest_is_a_direct_normal_dependency_of_auth_transport_and_the_harness_only() {
    let members = workspace_members();
    for expected in [MODEL, CLOCK, AUTH, TRANSPORT, CLIENT, XTASK] {
        assert!(
            members.iter().any(|member| member == expected),
            "{expected} is not a workspace member: {members:?}"
        );
    }
    let direct_users: Vec<&str> = members
        .iter()
        .filter(|member| {
            direct_dependencies(member)
                .iter()
                .any(|dep| dep == "reqwest")
        })
        .map(String::as_str)
        .collect();
    assert_eq!(
        direct_users,
        [AUTH, CONFORMANCE, TRANSPORT],
        "layering violation: reqwest must be a normal dependency of {AUTH} (feature `http`), \
         {TRANSPORT} and {CONFORMANCE} (the real target's recording proxy) only"
    );
}

#[test]
fn client_has_reqwest_only_as_a_dev_dependency() {
    assert!(
        !direct_dependencies(CLIENT)
            .iter()
            .any(|dep| dep == "reqwest"),
        "layering violation: {CLIENT} must reach reqwest only through {TRANSPORT}"
    );
    let dev: Vec<String> = tree(CLIENT, "dev", Some(1))
        .into_iter()
        .filter(|node| node.depth() == 1)
        .map(|node| node.name().to_owned())
        .collect();
    assert!(
        dev.iter().any(|dep| dep == "reqwest"),
        "{CLIENT}'s benchmark needs reqwest as a dev-dependency for its raw baseline; dev-dependencies: {dev:?}"
    );
}

#[test]
fn xtask_has_no_dependencies_and_no_crate_depends_on_it() {
    let deps = direct_dependencies(XTASK);
    assert!(
        deps.is_empty(),
        "xtask must use the standard library only, but depends on {deps:?}"
    );
    for member in workspace_members().iter().filter(|member| *member != XTASK) {
        for edges in ["normal", "build", "dev"] {
            let nodes = tree(member, edges, None);
            if let Some(node) = nodes.iter().skip(1).find(|node| node.name() == XTASK) {
                panic!(
                    "layering violation: {member} depends on xtask ({edges}): {}",
                    node.display_path()
                );
            }
        }
    }
}

/// The paths of `nodes`, for assertions.
fn paths(nodes: &[Node]) -> Vec<String> {
    nodes.iter().map(Node::display_path).collect()
}

/// Positive controls: the parsing does see dependencies, direct and
/// transitive, features change the tree, and `--edges normal` leaves
/// dev-dependencies out.
#[test]
fn the_tree_parsing_sees_dependencies() {
    let transport = paths(&tree(TRANSPORT, "normal", None));
    assert!(
        transport.contains(&format!("{TRANSPORT} -> reqwest")),
        "taskqueue-transport depends on reqwest directly: {transport:?}"
    );
    assert!(
        transport.iter().any(|path| path.ends_with("-> hyper")),
        "hyper, under reqwest, is found transitively"
    );

    // With its default features, auth has reqwest; without, it has not (the
    // rule above), so the feature flags do reach cargo tree.
    let auth = paths(&tree_with(AUTH, "normal", Some(1), Features::Default));
    assert!(
        auth.contains(&format!("{AUTH} -> reqwest")),
        "taskqueue-auth's default `http` feature brings reqwest: {auth:?}"
    );
    let auth_core = paths(&tree_with(AUTH, "normal", Some(1), Features::NoDefault));
    assert!(
        auth_core.contains(&format!("{AUTH} -> {CLOCK}")),
        "{auth_core:?}"
    );

    let client = paths(&tree(CLIENT, "normal", None));
    assert!(
        client.contains(&format!("{CLIENT} -> {TRANSPORT} -> reqwest")),
        "taskqueue-client reaches reqwest through transport: {client:?}"
    );
    assert!(
        !client.iter().any(|path| path.ends_with("wiremock")),
        "wiremock is a dev-dependency of the client and must not show with --edges normal"
    );

    let nodes = parse_depth_prefixed("0a v1 (/x)\n1b v1\n2c v1\n1d v1 (*)\n\n0e v1\n");
    assert_eq!(paths(&nodes), ["a", "a -> b", "a -> b -> c", "a -> d", "e"]);
}

/// Negative control: a rule that the tree breaks fails, naming the path.
#[test]
fn a_violation_names_the_forbidden_path() {
    let panic = std::panic::catch_unwind(|| {
        assert_no_dependency(CLIENT, "reqwest (deliberately broken rule)", |name| {
            name == "reqwest"
        });
    })
    .expect_err("taskqueue-client does reach reqwest, so the check must fail");
    let message = panic
        .downcast_ref::<String>()
        .expect("the check panics with a formatted message");
    // The first path cargo tree prints: through auth or through transport.
    let named = [AUTH, TRANSPORT]
        .iter()
        .any(|via| message.contains(&format!("{CLIENT} -> {via} -> reqwest")));
    assert!(named, "{message}");
}

#[test]
fn server_depends_on_neither_transport_nor_client() {
    assert_no_dependency(
        SERVER,
        "taskqueue-transport, taskqueue-client or reqwest",
        |name| [TRANSPORT, CLIENT, "reqwest"].contains(&name),
    );
}

/// The published crates depend on nothing unpublished: not the test
/// fixtures, the server or the harness (dev-dependencies are stripped when
/// packaging, normal ones are not).
#[test]
fn published_crates_depend_on_no_unpublished_crate() {
    for package in [MODEL, CLOCK, AUTH, TRANSPORT, CLIENT] {
        assert_no_dependency(
            package,
            "an unpublished workspace crate (test-support, server, conformance)",
            |name| ["taskqueue-test-support", SERVER, CONFORMANCE].contains(&name),
        );
    }
}

#[test]
fn store_knows_nothing_about_http_or_the_server() {
    assert_no_dependency(
        STORE,
        "an HTTP stack, axum, tower or another workspace crate than model",
        |name| {
            HTTP_STACK.contains(&name)
                || name.starts_with("axum")
                || name.starts_with("tower")
                || (is_other_workspace_crate(STORE)(name) && name != MODEL)
        },
    );
}

#[test]
fn store_is_the_servers_storage_and_the_server_reaches_sqlite_and_postgres_only_through_it() {
    assert!(
        direct_dependencies(SERVER).iter().any(|name| name == STORE),
        "{SERVER} uses {STORE}"
    );
    for driver in ["rusqlite", "tokio-postgres", "deadpool-postgres"] {
        assert!(
            !direct_dependencies(SERVER)
                .iter()
                .any(|name| name == driver),
            "{SERVER} depends on {driver} directly; only {STORE} may"
        );
        assert!(
            direct_dependencies(STORE).iter().any(|name| name == driver),
            "{STORE} uses {driver}: the control that the check sees it"
        );
    }
}

#[test]
fn no_library_crate_depends_on_the_worker_or_the_command_line() {
    for package in [MODEL, CLOCK, AUTH, TRANSPORT, CLIENT, SERVER] {
        assert_no_dependency(package, "taskqueue-worker or taskqueue-cli", |name| {
            [WORKER, CLI].contains(&name)
        });
    }
    assert_no_dependency(WORKER, "taskqueue-cli", |name| name == CLI);
}

#[test]
fn the_worker_builds_on_the_client_only_and_never_on_the_server() {
    let direct = direct_dependencies(WORKER);
    assert!(
        direct.iter().any(|dep| dep == CLIENT),
        "{WORKER} must use the API through {CLIENT}: {direct:?}"
    );
    for forbidden in [TRANSPORT, "reqwest", AUTH] {
        assert!(
            !direct.iter().any(|dep| dep == forbidden),
            "layering violation: {WORKER} must not depend on {forbidden} directly (only through {CLIENT}): {direct:?}"
        );
    }
    assert_no_dependency(
        WORKER,
        "taskqueue-server (its end-to-end tests use it as a dev-dependency only)",
        |name| name == SERVER,
    );
    assert_no_dependency(
        CLI,
        "taskqueue-server (its tests use it as a dev-dependency only)",
        |name| name == SERVER,
    );
}
