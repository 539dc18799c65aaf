//! Coverage is derived from small in-memory scenarios and their records.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::report::{Outcome, StepRecord, Target, WireCounters};
use crate::scenario::load::load_str;

/// A scenario with one call step of `method` under `scopes`, whose
/// exchanges and expectation are YAML fragments.
fn scenario(id: &str, scopes: &str, method: &str, exchanges: &str, expect: &str) -> LoadedScenario {
    let text = format!(
        "schema: 1\nid: {id}\ntitle: t\nbehaviors: [TQ-X]\ncredentials:\n  grant: refresh_token\n  \
         scopes: {scopes}\nsteps:\n  - call: {method}\n    exchanges: {exchanges}\n    expect: {expect}\n"
    );
    load_str(Path::new(&format!("scenarios/{id}.yaml")), &text).expect("a valid scenario")
}

const OK_200: &str = "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: x, token: at-1 }, response: { status: 200, json: {} } } }]";
const DENIED_403: &str = "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: x, token: at-1 }, response: { status: 403 } } }]";
const REFRESH: &str = "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: x, token: at-1 }, response: { status: 401 } } }, { token: { issue: at-2 } }, { api: { request: { method: GET, path: x, token: at-2 }, response: { status: 200, json: {} } } }]";

fn record(id: &str, outcome: Outcome, steps: &[usize]) -> ScenarioRecord {
    ScenarioRecord {
        id: id.to_owned(),
        target: Target::Mock,
        behaviors: vec!["TQ-X".to_owned()],
        outcome,
        steps: steps
            .iter()
            .map(|&step| StepRecord {
                step,
                at: "+0s".to_owned(),
                action: "call".to_owned(),
                wire: Vec::new(),
                result: String::new(),
                counters: WireCounters::default(),
                sleeps: Vec::new(),
            })
            .collect(),
        counters: WireCounters::default(),
        methods: Vec::new(),
        elapsed: Duration::ZERO,
    }
}

fn passed(id: &str) -> ScenarioRecord {
    record(id, Outcome::Passed, &[1])
}

fn cases(loaded: &LoadedScenario) -> StepCases {
    cases_of(&loaded.scenario, &loaded.scenario.steps[0].value)
}

#[test]
fn the_inventory_is_the_discovery_documents_eight_methods() {
    let inventory = Inventory::builtin().expect("the discovery document parses");
    let mut methods = inventory.methods().to_vec();
    methods.sort();
    let mut all = ApiMethod::ALL.to_vec();
    all.sort();
    assert_eq!(methods, all);
    assert_eq!(inventory.pairs().count(), 8 * 7);
}

#[test]
fn a_discovery_method_the_model_does_not_know_is_an_error() {
    let document = r#"{"resources": {"tasks": {"methods": {
        "get": {"id": "taskqueue.tasks.get"},
        "purge": {"id": "taskqueue.tasks.purge"}}}}}"#;
    let error = Inventory::from_discovery(document).expect_err("purge is unknown");
    assert!(error.contains("taskqueue.tasks.purge"), "{error}");
    let nested = r#"{"resources": {"a": {"resources": {"b": {"methods": {
        "get": {"id": "taskqueue.tasks.get"}}}}}}}"#;
    assert_eq!(
        Inventory::from_discovery(nested).expect("nested").methods(),
        [ApiMethod::TasksGet]
    );
    assert!(Inventory::from_discovery("{}").is_err());
}

#[test]
fn case_names_round_trip() {
    for case in Case::ALL {
        assert_eq!(Case::parse(&case.name()), Some(case));
    }
    assert_eq!(Case::Scope(ScopeCase::Foreign).name(), "scope:foreign");
    assert_eq!(Case::parse("scope:devstorage"), None);
}

#[test]
fn each_step_shows_the_cases_its_script_implies() {
    use Case::{Happy, Refresh401, Scope as S};
    use ScopeCase::*;
    let ok = "{ ok: {} }";
    let denied = "{ error: { kind: scope_denied } }";
    let not_found = "{ error: { kind: not_found } }";
    let foreign = "['https://www.googleapis.com/auth/devstorage.read_only']";
    // (scopes, method, exchanges, expect, cases)
    let table: &[(&str, &str, &str, &str, &[Case])] = &[
        (
            "[taskqueue]",
            "tasks.get",
            OK_200,
            ok,
            &[Happy, S(Taskqueue)],
        ),
        (
            "[cloud-taskqueue]",
            "taskqueue.tasks.insert",
            OK_200,
            ok,
            &[Happy, S(CloudTaskqueue)],
        ),
        // Two scopes: happy, but no single-scope case.
        (
            "[taskqueue, taskqueue.consumer]",
            "tasks.list",
            OK_200,
            ok,
            &[Happy],
        ),
        // A read under a consumer scope: allowed, but not a read/write scope.
        (
            "[taskqueue.consumer]",
            "tasks.list",
            OK_200,
            ok,
            &[S(TaskqueueConsumer)],
        ),
        (
            "[cloud-taskqueue.consumer]",
            "tasks.delete",
            DENIED_403,
            denied,
            &[S(CloudTaskqueueConsumer)],
        ),
        (foreign, "taskqueues.get", DENIED_403, denied, &[S(Foreign)]),
        // Happy needs a 2xx API exchange.
        ("[taskqueue]", "tasks.get", "[]", ok, &[S(Taskqueue)]),
        // Other error kinds neither cover nor contradict.
        ("[taskqueue]", "tasks.get", DENIED_403, not_found, &[]),
        (
            "[taskqueue]",
            "tasks.lease",
            REFRESH,
            ok,
            &[Happy, S(Taskqueue), Refresh401],
        ),
        // A 401 whose refresh fails shows no refresh.
        (
            "[taskqueue]",
            "tasks.get",
            "[{ api: { request: { method: GET, path: x, token: at-1 }, response: { status: 401 } } }, { token: { error: { status: 400 } } }]",
            "{ error: { kind: auth } }",
            &[],
        ),
    ];
    for (scopes, method, exchanges, expect, expected) in table {
        let loaded = scenario("demo", scopes, method, exchanges, expect);
        let shown = cases(&loaded);
        assert_eq!(shown.cases, *expected, "{scopes} {method} {expect}");
        assert_eq!(shown.contradiction, None, "{scopes} {method} {expect}");
    }
}

#[test]
fn a_scope_step_is_judged_by_requested_and_granted_scopes() {
    let text = "schema: 1\nid: d\ntitle: t\nbehaviors: [X]\ncredentials:\n  grant: refresh_token\n  \
                scopes: [taskqueue]\n  granted: [taskqueue.consumer]\nsteps:\n  - call: tasks.insert\n    \
                expect: { error: { kind: scope_denied } }\n";
    let loaded = load_str(Path::new("d.yaml"), text).expect("valid");
    // The token was down-scoped: not a `scope:taskqueue` case, and no contradiction either.
    assert_eq!(
        cases(&loaded),
        StepCases {
            method: Some(ApiMethod::TasksInsert),
            cases: Vec::new(),
            contradiction: None,
        }
    );
}

#[test]
fn expectations_against_the_seed_table_are_contradictions() {
    let cases_table: &[(&str, &str, &str, &str)] = &[
        (
            "[taskqueue.consumer]",
            "tasks.insert",
            "{ ok: {} }",
            "tasks.insert under [taskqueue.consumer] expects `ok`, but the scope table denies it (expect `error: { kind: scope_denied }`)",
        ),
        (
            "[taskqueue]",
            "tasks.get",
            "{ error: { kind: scope_denied } }",
            "tasks.get under [taskqueue] expects `scope_denied`, but the scope table allows it (expect `ok`)",
        ),
        (
            "['https://example.com/auth/x']",
            "tasks.get",
            "{ ok: {} }",
            "tasks.get under [https://example.com/auth/x] expects `ok`, but the scope table denies it",
        ),
    ];
    for (scopes, method, expect, message) in cases_table {
        let loaded = scenario("bad", scopes, method, OK_200, expect);
        let shown = cases(&loaded);
        let contradiction = shown.contradiction.expect("a contradiction");
        assert!(contradiction.starts_with(message), "{contradiction}");
        let derivation = derive(std::slice::from_ref(&loaded), &[passed("bad")]);
        assert_eq!(derivation.contradictions.len(), 1);
        assert!(
            derivation.contradictions[0].starts_with("scenarios/bad.yaml:9:5: step 1 of `bad`: "),
            "{}",
            derivation.contradictions[0]
        );
    }
}

#[test]
fn only_steps_of_passed_records_cover() {
    let loaded = vec![
        scenario("a", "[taskqueue]", "tasks.get", OK_200, "{ ok: {} }"),
        scenario("b", "[taskqueue]", "tasks.list", OK_200, "{ ok: {} }"),
        scenario("c", "[taskqueue]", "tasks.delete", OK_200, "{ ok: {} }"),
        scenario("d", "[taskqueue]", "tasks.patch", OK_200, "{ ok: {} }"),
    ];
    let records = vec![
        passed("a"),
        record("b", Outcome::Failed("boom".to_owned()), &[1]),
        // Passed, but the step did not run (skipped on the target).
        record("c", Outcome::Passed, &[]),
        // No record for d at all.
    ];
    let derivation = derive(&loaded, &records);
    let covered: Vec<_> = derivation.covered.keys().copied().collect();
    assert_eq!(
        covered,
        [
            (ApiMethod::TasksGet, Case::Happy),
            (ApiMethod::TasksGet, Case::Scope(ScopeCase::Taskqueue)),
        ]
    );
    assert_eq!(
        derivation.covered[&(ApiMethod::TasksGet, Case::Happy)],
        [Evidence {
            scenario: "a".to_owned(),
            step: 1
        }]
    );
}

fn ineligible(text: &str) -> Result<Vec<IneligibleEntry>, Vec<String>> {
    parse_ineligible(Path::new("conformance/coverage/ineligible.yaml"), text)
}

#[test]
fn gaps_fail_the_check_and_are_listed() {
    let inventory = Inventory::from_discovery(
        r#"{"resources": {"tasks": {"methods": {"get": {"id": "taskqueue.tasks.get"}}}}}"#,
    )
    .expect("inventory");
    let loaded = vec![scenario(
        "a",
        "[taskqueue]",
        "tasks.get",
        REFRESH,
        "{ ok: {} }",
    )];
    let derivation = derive(&loaded, &[passed("a")]);
    let excused = ineligible(
        "- method: tasks.get\n  case: scope:foreign\n  reason: not yet\n\
         - method: taskqueue.tasks.get\n  case: scope:cloud-taskqueue\n  reason: same as taskqueue\n",
    )
    .expect("valid");
    let report = check(&inventory, &excused, &derivation);
    assert!(!report.is_ok());
    assert_eq!(report.counts(), (3, 2, 2));
    let gaps: Vec<String> = report.gaps().map(|row| row.case.name()).collect();
    assert_eq!(
        gaps,
        ["scope:taskqueue.consumer", "scope:cloud-taskqueue.consumer"]
    );
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.messages().len(), 1);
    assert_eq!(
        report.messages()[0],
        "2 coverage gap(s): no passing mock scenario covers, and \
         conformance/coverage/ineligible.yaml does not list:\n  \
         tasks.get × scope:taskqueue.consumer\n  tasks.get × scope:cloud-taskqueue.consumer"
    );

    let consumer = vec![
        scenario(
            "b",
            "[taskqueue.consumer]",
            "tasks.get",
            OK_200,
            "{ ok: {} }",
        ),
        scenario(
            "c",
            "[cloud-taskqueue.consumer]",
            "tasks.get",
            OK_200,
            "{ ok: {} }",
        ),
    ];
    let mut all = loaded.clone();
    all.extend(consumer);
    let derivation = derive(&all, &[passed("a"), passed("b"), passed("c")]);
    let report = check(&inventory, &excused, &derivation);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.counts(), (5, 2, 0));
}

#[test]
fn an_ineligible_pair_that_is_covered_fails_the_check() {
    let inventory = Inventory::builtin().expect("inventory");
    let loaded = vec![scenario(
        "a",
        "[taskqueue]",
        "tasks.get",
        OK_200,
        "{ ok: {} }",
    )];
    let derivation = derive(&loaded, &[passed("a")]);
    let excused =
        ineligible("- method: tasks.get\n  case: happy\n  reason: hard\n").expect("valid");
    let report = check(&inventory, &excused, &derivation);
    assert!(report.problems.iter().any(|problem| problem
        == "conformance/coverage/ineligible.yaml:1:3: tasks.get × happy is listed as ineligible \
            but a step 1 covers it: remove the entry"), "{:#?}", report.problems);
}

#[test]
fn broken_ineligible_files_name_the_place() {
    let cases: &[(&str, &str)] = &[
        (
            "- method: tasks.fetch\n  case: happy\n  reason: r\n",
            "conformance/coverage/ineligible.yaml:1:3: unknown method `tasks.fetch`",
        ),
        (
            "- method: tasks.get\n  case: sad\n  reason: r\n",
            "conformance/coverage/ineligible.yaml:1:3: unknown case `sad`; expected one of happy, scope:taskqueue,",
        ),
        (
            "- method: tasks.get\n  case: happy\n  reason: ' '\n",
            "conformance/coverage/ineligible.yaml:1:3: `reason` is empty",
        ),
        (
            "- method: tasks.get\n  case: happy\n  reason: r\n- method: tasks.get\n  case: happy\n  reason: r\n",
            "conformance/coverage/ineligible.yaml:4:3: tasks.get × happy is listed twice",
        ),
        (
            "- method: tasks.get\n  case: happy\n  why: r\n",
            "conformance/coverage/ineligible.yaml:3:3: unknown field `why`",
        ),
    ];
    for (text, message) in cases {
        let errors = ineligible(text).expect_err("broken");
        assert!(errors[0].starts_with(message), "{errors:?}");
    }
    assert_eq!(ineligible("").expect("empty"), []);
    assert_eq!(ineligible("[]\n").expect("empty list"), []);
}

#[test]
fn the_checked_in_ineligible_list_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("coverage/ineligible.yaml");
    let entries = load_ineligible(&path).expect("valid");
    for entry in entries {
        assert!(!entry.reason.is_empty());
    }
}
