//! The reports of a small hand-made run.

use std::time::Duration;

use super::*;
use crate::check::ledger::Verdict;
use crate::report::coverage::{Derivation, Evidence, Inventory, check};
use crate::report::{Outcome, ScenarioRecord, WireCounters};
use crate::report::{junit, matrix};

fn result(
    id: &str,
    behaviors: &[&str],
    methods: &[&str],
    verdict: Verdict,
    ms: u64,
) -> ScenarioResult {
    let outcome = match &verdict {
        Verdict::Passed | Verdict::Stale { .. } => Outcome::Passed,
        Verdict::Failed(m) | Verdict::ExpectedFailure { failure: m, .. } => {
            Outcome::Failed(m.clone())
        }
        Verdict::Skipped(m) => Outcome::Skipped(m.clone()),
    };
    ScenarioResult {
        record: ScenarioRecord {
            id: id.to_owned(),
            target: Target::Mock,
            behaviors: behaviors.iter().map(|b| (*b).to_owned()).collect(),
            outcome,
            steps: Vec::new(),
            counters: WireCounters::default(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            elapsed: Duration::from_millis(ms),
        },
        verdict,
    }
}

fn report() -> RunReport {
    let inventory = Inventory::from_discovery(
        r#"{"resources": {"tasks": {"methods": {"get": {"id": "taskqueue.tasks.get"}}}}}"#,
    )
    .expect("inventory");
    let mut derivation = Derivation::default();
    derivation.covered.insert(
        (
            taskqueue_model::ApiMethod::TasksGet,
            crate::report::coverage::Case::Happy,
        ),
        vec![
            Evidence {
                scenario: "methods.get".to_owned(),
                step: 1,
            },
            Evidence {
                scenario: "methods.get".to_owned(),
                step: 2,
            },
        ],
    );
    let ineligible = crate::report::coverage::parse_ineligible(
        std::path::Path::new("ineligible.yaml"),
        "- method: tasks.get\n  case: refresh-401\n  reason: covered by <auth> & friends\n",
    )
    .expect("valid");
    RunReport {
        target: Target::Mock,
        results: vec![
            result(
                "methods.get",
                &["TQ-GET"],
                &["tasks.get"],
                Verdict::Passed,
                12,
            ),
            result(
                "auth.refresh",
                &["TQ-AUTH-401-REFRESH", "TQ-GET"],
                &["taskqueue.tasks.get", "tasks.lease"],
                Verdict::Failed(
                    "step 2: expected status 200, got 401 <\"&'>\nsecond line".to_owned(),
                ),
                1500,
            ),
            result(
                "auth.real-only",
                &["TQ-AUTH-401-REFRESH"],
                &["tasks.lease"],
                Verdict::ExpectedFailure {
                    reason: "issue 7".to_owned(),
                    failure: "boom".to_owned(),
                },
                3,
            ),
        ],
        coverage: Some(check(&inventory, &ineligible, &derivation)),
        coverage_skipped: None,
        ledger_problems: vec!["expected-failures.yaml:1:3: no scenario has the id `x`".to_owned()],
        snapshot_problems: Vec::new(),
        wall: Duration::from_millis(1234),
    }
}

#[test]
fn the_summary_lists_every_scenario_and_every_reason_to_fail() {
    let summary = summary(&report());
    let expected = "\
scenario        target  result  time
methods.get     mock    pass    12ms
auth.refresh    mock    FAIL    1.50s
auth.real-only  mock    xfail   3ms

FAIL auth.refresh (mock): step 2: expected status 200, got 401 <\"&'>
    second line
xfail auth.real-only (mock): expected failure (issue 7): boom

3 scenario(s) on mock: 1 pass, 1 xfail, 0 skip, 1 FAIL, 0 STALE
report card: 1 of 3 applicable scenario(s) pass on mock (0 not applicable, each with its reason above)
coverage: 7 pairs: 1 covered, 1 ineligible, 5 gap(s)
result: FAILED (3 problem(s))
  - FAIL auth.refresh on mock
  - expected-failures.yaml:1:3: no scenario has the id `x`
  - 5 coverage gap(s): no passing mock scenario covers, and conformance/coverage/ineligible.yaml does not list:
      tasks.get × scope:taskqueue
      tasks.get × scope:taskqueue.consumer
      tasks.get × scope:cloud-taskqueue
      tasks.get × scope:cloud-taskqueue.consumer
      tasks.get × scope:foreign
";
    assert_eq!(summary, expected);
}

#[test]
fn a_clean_run_says_ok() {
    let mut report = report();
    report.results.truncate(1);
    report.ledger_problems.clear();
    report.coverage = None;
    report.coverage_skipped = Some("--filter".to_owned());
    assert!(report.passed());
    let summary = summary(&report);
    assert!(
        summary.ends_with("coverage: not checked (--filter)\nresult: ok\n"),
        "{summary}"
    );
}

#[test]
fn junit_has_a_suite_per_target_and_escapes_every_text() {
    let xml = junit::render(&report());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"taskqueue-conformance\" tests=\"12\" failures=\"7\" skipped=\"2\" time=\"1.234\">\n"), "{xml}");
    assert!(xml.contains("  <testsuite name=\"mock\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.515\">\n"), "{xml}");
    assert!(
        xml.contains("    <testcase classname=\"mock\" name=\"methods.get\" time=\"0.012\"/>\n")
    );
    assert!(xml.contains(
        "    <testcase classname=\"mock\" name=\"auth.refresh\" time=\"1.500\">\n      \
         <failure message=\"step 2: expected status 200, got 401 &lt;&quot;&amp;&apos;&gt;\">step 2: \
         expected status 200, got 401 &lt;&quot;&amp;&apos;&gt;\nsecond line</failure>\n    </testcase>\n"
    ), "{xml}");
    assert!(xml.contains("<skipped message=\"expected failure (issue 7): boom\"/>"));
    assert!(xml.contains("name=\"tasks.get × refresh-401\" time=\"0.000\">\n      <skipped message=\"ineligible: covered by &lt;auth&gt; &amp; friends\"/>"), "{xml}");
    assert!(
        xml.contains(
            "<testcase classname=\"coverage\" name=\"tasks.get × happy\" time=\"0.000\"/>"
        )
    );
    assert!(xml.contains("<testcase classname=\"coverage\" name=\"consistency\" time=\"0.000\"/>"));
    assert!(xml.contains("<testcase classname=\"ledger\" name=\"expected-failures.yaml\" time=\"0.000\">\n      <failure message=\"expected-failures.yaml:1:3: no scenario has the id `x`\">"));
    assert!(xml.ends_with("  </testsuite>\n</testsuites>\n"));
    // Balanced: every opened element is closed.
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
}

#[test]
fn xml_escaping_covers_markup_and_forbidden_characters() {
    assert_eq!(
        xml_escape("a<b>&\"c'\u{1}\td\n"),
        "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\td\n"
    );
}

#[test]
fn the_matrix_crosses_behaviours_and_methods_and_shows_coverage() {
    let matrix = matrix::render(&report());
    let table = "\
| behaviour | taskqueues.get | tasks.delete | tasks.get | tasks.insert | tasks.lease | tasks.list | tasks.patch | tasks.update |
|---|---|---|---|---|---|---|---|---|
| TQ-AUTH-401-REFRESH |  |  | ✗ |  | ✗ xfail |  |  |  |
| TQ-GET |  |  | ✓ ✗ |  | ✗ |  |  |  |
";
    assert!(matrix.contains(table), "{matrix}");
    let coverage = "\
| method | happy | scope:taskqueue | scope:taskqueue.consumer | scope:cloud-taskqueue | scope:cloud-taskqueue.consumer | scope:foreign | refresh-401 |
|---|---|---|---|---|---|---|---|
| tasks.get | ✓ | **GAP** | **GAP** | **GAP** | **GAP** | **GAP** | n/a |

Ineligible:

- tasks.get × refresh-401: covered by <auth> & friends
";
    assert!(matrix.contains(coverage), "{matrix}");
    assert!(!matrix.contains("ms"), "no times in the matrix");
}

#[test]
fn progress_lines_fit_terminals_and_logs() {
    let live = Progress::new(ProgressMode::Live, 74);
    assert_eq!(
        live.line(12, Target::Mock, "auth.refresh-on-401"),
        "\r\x1b[2K[12/74] mock auth.refresh-on-401 ..."
    );
    let plain = Progress::new(ProgressMode::Plain, 3);
    assert_eq!(plain.line(1, Target::Real, "a"), "[1/3] real a\n");
    assert_eq!(
        Progress::new(ProgressMode::Quiet, 3).line(1, Target::Mock, "a"),
        ""
    );
}

#[test]
fn durations_read_well() {
    assert_eq!(human_duration(Duration::from_micros(12_400)), "12ms");
    assert_eq!(human_duration(Duration::from_millis(1234)), "1.23s");
}
