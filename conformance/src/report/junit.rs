//! JUnit XML for CI UIs: a `testsuite` per target with a `testcase` per
//! scenario, plus a `coverage` suite (a `testcase` per inventory pair and one
//! for the consistency checks) and a `ledger` suite.
//!
//! Expected failures and skipped scenarios are `<skipped>` (with the reason);
//! failures and stale ledger entries are `<failure>`. Every text is
//! XML-escaped.

use std::fmt::Write as _;
use std::time::Duration;

use super::card::{RunReport, xml_escape};
use crate::check::ledger::Verdict;
use crate::report::coverage::PairStatus;

/// One test case.
struct Case {
    class: String,
    name: String,
    time: Duration,
    status: Status,
}

enum Status {
    Passed,
    Failed(String),
    Skipped(String),
}

/// The JUnit XML of `report`.
pub fn render(report: &RunReport) -> String {
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    for result in &report.results {
        let target = result.record.target.name().to_owned();
        let status = match &result.verdict {
            Verdict::Passed => Status::Passed,
            Verdict::Failed(_) | Verdict::Stale { .. } => {
                Status::Failed(result.verdict.detail().unwrap_or_default())
            }
            Verdict::ExpectedFailure { .. } | Verdict::Skipped(_) => {
                Status::Skipped(result.verdict.detail().unwrap_or_default())
            }
        };
        let case = Case {
            class: target.clone(),
            name: result.record.id.clone(),
            time: result.record.elapsed,
            status,
        };
        match suites.iter_mut().find(|(name, _)| *name == target) {
            Some((_, cases)) => cases.push(case),
            None => suites.push((target, vec![case])),
        }
    }
    if let Some(coverage) = &report.coverage {
        let mut cases: Vec<Case> = coverage
            .rows
            .iter()
            .map(|row| Case {
                class: "coverage".to_owned(),
                name: format!("{} × {}", row.method.short_name(), row.case),
                time: Duration::ZERO,
                status: match &row.status {
                    PairStatus::Covered(_) => Status::Passed,
                    PairStatus::Ineligible(reason) => {
                        Status::Skipped(format!("ineligible: {reason}"))
                    }
                    PairStatus::Gap => Status::Failed(
                        "no passing mock scenario covers this pair, and \
                         conformance/coverage/ineligible.yaml does not list it"
                            .to_owned(),
                    ),
                },
            })
            .collect();
        cases.push(Case {
            class: "coverage".to_owned(),
            name: "consistency".to_owned(),
            time: Duration::ZERO,
            status: if coverage.problems.is_empty() {
                Status::Passed
            } else {
                Status::Failed(coverage.problems.join("\n"))
            },
        });
        suites.push(("coverage".to_owned(), cases));
    }
    suites.push((
        "ledger".to_owned(),
        vec![Case {
            class: "ledger".to_owned(),
            name: "expected-failures.yaml".to_owned(),
            time: Duration::ZERO,
            status: if report.ledger_problems.is_empty() {
                Status::Passed
            } else {
                Status::Failed(report.ledger_problems.join("\n"))
            },
        }],
    ));

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all: Vec<&Case> = suites.iter().flat_map(|(_, cases)| cases).collect();
    let _ = writeln!(
        out,
        "<testsuites name=\"taskqueue-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" \
         time=\"{:.3}\">",
        all.len(),
        count(&all, |s| matches!(s, Status::Failed(_))),
        count(&all, |s| matches!(s, Status::Skipped(_))),
        report.wall.as_secs_f64()
    );
    for (name, cases) in &suites {
        let cases: Vec<&Case> = cases.iter().collect();
        let time: Duration = cases.iter().map(|case| case.time).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" \
             time=\"{:.3}\">",
            xml_escape(name),
            cases.len(),
            count(&cases, |s| matches!(s, Status::Failed(_))),
            count(&cases, |s| matches!(s, Status::Skipped(_))),
            time.as_secs_f64()
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&case.class),
                xml_escape(&case.name),
                case.time.as_secs_f64()
            );
            match &case.status {
                Status::Passed => out.push_str("/>\n"),
                Status::Failed(message) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml_escape(message.lines().next().unwrap_or_default()),
                        xml_escape(message)
                    );
                }
                Status::Skipped(message) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn count(cases: &[&Case], which: impl Fn(&Status) -> bool) -> usize {
    cases.iter().filter(|case| which(&case.status)).count()
}
