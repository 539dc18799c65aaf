//! The expected-failures ledger (`conformance/expected-failures.yaml`):
//! scenario × target pairs known to fail, each with a reason.
//!
//! A listed scenario that fails is an expected failure, not a run failure; one
//! that passes is stale and fails the run, and so does an entry naming a
//! scenario that does not exist. A listed scenario that is skipped is neither.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::report::{Outcome, ScenarioRecord, Target};
use crate::scenario::Spanned;

/// One known failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The scenario id.
    pub scenario: String,
    /// The target it fails on.
    pub target: Target,
    /// Why it fails.
    pub reason: String,
    /// `file:line:column` of the entry, for messages.
    pub place: String,
}

/// The ledger: every known failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// The entries, in file order.
    pub entries: Vec<LedgerEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    scenario: String,
    target: String,
    reason: String,
}

impl Ledger {
    /// Loads the ledger at `path`. Every error names `file:line:column`.
    pub fn load(path: &Path) -> Result<Ledger, Vec<String>> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| vec![format!("{}: cannot read: {error}", path.display())])?;
        Ledger::parse(path, &text)
    }

    /// Parses the ledger `text`, naming `path` in errors. An empty file is
    /// an empty ledger.
    pub fn parse(path: &Path, text: &str) -> Result<Ledger, Vec<String>> {
        let raw: Option<Vec<Spanned<RawEntry>>> =
            serde_saphyr::from_str(text).map_err(|error| vec![yaml_error(path, &error)])?;
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        for entry in raw.unwrap_or_default() {
            let place = format!(
                "{}:{}:{}",
                path.display(),
                entry.referenced.line(),
                entry.referenced.column()
            );
            let raw = entry.value;
            let Some(target) = Target::parse(&raw.target) else {
                errors.push(format!(
                    "{place}: unknown target `{}`; expected mock, real or server",
                    raw.target
                ));
                continue;
            };
            if raw.reason.trim().is_empty() {
                errors.push(format!("{place}: `reason` is empty"));
                continue;
            }
            if !seen.insert((raw.scenario.clone(), target)) {
                errors.push(format!(
                    "{place}: `{}` on {target} is listed twice",
                    raw.scenario
                ));
                continue;
            }
            entries.push(LedgerEntry {
                scenario: raw.scenario,
                target,
                reason: raw.reason.trim().to_owned(),
                place,
            });
        }
        if errors.is_empty() {
            Ok(Ledger { entries })
        } else {
            Err(errors)
        }
    }

    /// The entry for `scenario` on `target`, if any.
    pub fn entry(&self, scenario: &str, target: Target) -> Option<&LedgerEntry> {
        self.entries
            .iter()
            .find(|entry| entry.scenario == scenario && entry.target == target)
    }
}

/// A YAML error as `file:line:column: what` (serde-saphyr says
/// `error: line L column C: what`), its first line only.
pub(crate) fn yaml_error(path: &Path, error: &impl fmt::Display) -> String {
    let message = error.to_string();
    let line = message.lines().next().unwrap_or_default();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    if let Some(rest) = line.strip_prefix("line ")
        && let Some((number, rest)) = rest.split_once(" column ")
        && let Some((column, what)) = rest.split_once(": ")
    {
        return format!("{}:{number}:{column}: {what}", path.display());
    }
    format!("{}: {line}", path.display())
}

/// A scenario's result once the ledger is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It passed, as it should.
    Passed,
    /// It failed, and the ledger does not list it: a run failure.
    Failed(String),
    /// It failed, and the ledger says it would.
    ExpectedFailure {
        /// The ledger's reason.
        reason: String,
        /// How it failed.
        failure: String,
    },
    /// It passed, but the ledger says it fails: the entry is stale, a run
    /// failure.
    Stale {
        /// The ledger's reason.
        reason: String,
        /// Where the entry is.
        place: String,
    },
    /// It did not run (or stopped early), and why.
    Skipped(String),
}

impl Verdict {
    /// Whether the verdict fails the run.
    pub fn fails_run(&self) -> bool {
        matches!(self, Verdict::Failed(_) | Verdict::Stale { .. })
    }

    /// One word for tables: `pass`, `FAIL`, `xfail`, `STALE`, `skip`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed => "pass",
            Verdict::Failed(_) => "FAIL",
            Verdict::ExpectedFailure { .. } => "xfail",
            Verdict::Stale { .. } => "STALE",
            Verdict::Skipped(_) => "skip",
        }
    }

    /// What to say beyond the word, if anything.
    pub fn detail(&self) -> Option<String> {
        match self {
            Verdict::Passed => None,
            Verdict::Failed(message) | Verdict::Skipped(message) => Some(message.clone()),
            Verdict::ExpectedFailure { reason, failure } => {
                Some(format!("expected failure ({reason}): {failure}"))
            }
            Verdict::Stale { reason, place } => Some(format!(
                "passes, but {place} lists it as an expected failure ({reason}): remove the entry"
            )),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())?;
        if let Some(detail) = self.detail() {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// A scenario's record and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    /// What ran.
    pub record: ScenarioRecord,
    /// What it means, with the ledger applied.
    pub verdict: Verdict,
}

/// The ledger applied to a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// One result per record, in the records' order.
    pub results: Vec<ScenarioResult>,
    /// Ledger entries that fail the run on their own: naming a scenario that
    /// does not exist.
    pub problems: Vec<String>,
}

/// Applies `ledger` to `records`. `known` holds every loaded scenario id
/// (not only the ones that ran, so a `--filter` does not make entries look
/// unknown).
pub fn apply(ledger: &Ledger, known: &BTreeSet<String>, records: Vec<ScenarioRecord>) -> Applied {
    let problems = ledger
        .entries
        .iter()
        .filter(|entry| !known.contains(&entry.scenario))
        .map(|entry| {
            format!(
                "{}: no scenario has the id `{}`: remove or fix the entry",
                entry.place, entry.scenario
            )
        })
        .collect();
    let results = records
        .into_iter()
        .map(|record| {
            let listed = ledger.entry(&record.id, record.target);
            let verdict = match (&record.outcome, listed) {
                (Outcome::Passed, None) => Verdict::Passed,
                (Outcome::Passed, Some(entry)) => Verdict::Stale {
                    reason: entry.reason.clone(),
                    place: entry.place.clone(),
                },
                (Outcome::Failed(message), None) => Verdict::Failed(message.clone()),
                (Outcome::Failed(message), Some(entry)) => Verdict::ExpectedFailure {
                    reason: entry.reason.clone(),
                    failure: message.clone(),
                },
                (Outcome::Skipped(message), _) => Verdict::Skipped(message.clone()),
            };
            ScenarioResult { record, verdict }
        })
        .collect();
    Applied { results, problems }
}

/// How many results have each word, in a stable order.
pub fn tally(results: &[ScenarioResult]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for result in results {
        *counts.entry(result.verdict.word()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::WireCounters;

    fn ledger(text: &str) -> Result<Ledger, Vec<String>> {
        Ledger::parse(Path::new("conformance/expected-failures.yaml"), text)
    }

    fn record(id: &str, target: Target, outcome: Outcome) -> ScenarioRecord {
        ScenarioRecord {
            id: id.to_owned(),
            target,
            behaviors: Vec::new(),
            outcome,
            steps: Vec::new(),
            counters: WireCounters::default(),
            methods: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    fn known(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    const LEDGER: &str = "\
- scenario: auth.refresh
  target: real
  reason: production never answers 401 to a fresh token
- scenario: tasks.lease
  target: mock
  reason: issue 12
- scenario: tasks.skipped
  target: mock
  reason: flaky
";

    #[test]
    fn the_ledger_turns_failures_into_expected_failures_and_passes_into_stale_entries() {
        let ledger = ledger(LEDGER).expect("valid");
        let failed = || Outcome::Failed("step 1: status 200, expected 401".to_owned());
        let records = vec![
            record("auth.refresh", Target::Real, failed()),
            // The same scenario on the other target is not listed.
            record("auth.refresh", Target::Mock, failed()),
            record("tasks.lease", Target::Mock, Outcome::Passed),
            record("tasks.get", Target::Mock, Outcome::Passed),
            record(
                "tasks.skipped",
                Target::Mock,
                Outcome::Skipped("advance".to_owned()),
            ),
        ];
        let applied = apply(
            &ledger,
            &known(&["auth.refresh", "tasks.lease", "tasks.get", "tasks.skipped"]),
            records,
        );
        assert_eq!(applied.problems, Vec::<String>::new());
        let verdicts: Vec<_> = applied.results.iter().map(|r| r.verdict.clone()).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::ExpectedFailure {
                    reason: "production never answers 401 to a fresh token".to_owned(),
                    failure: "step 1: status 200, expected 401".to_owned(),
                },
                Verdict::Failed("step 1: status 200, expected 401".to_owned()),
                Verdict::Stale {
                    reason: "issue 12".to_owned(),
                    place: "conformance/expected-failures.yaml:4:3".to_owned(),
                },
                Verdict::Passed,
                Verdict::Skipped("advance".to_owned()),
            ]
        );
        let fails: Vec<bool> = verdicts.iter().map(Verdict::fails_run).collect();
        assert_eq!(fails, [false, true, true, false, false]);
        assert_eq!(
            verdicts[2].to_string(),
            "STALE: passes, but conformance/expected-failures.yaml:4:3 lists it as an expected \
             failure (issue 12): remove the entry"
        );
        let counts = tally(&applied.results);
        assert_eq!(counts.get("xfail"), Some(&1));
        assert_eq!(counts.get("FAIL"), Some(&1));
    }

    #[test]
    fn an_entry_naming_no_scenario_fails_the_run() {
        let ledger = ledger(LEDGER).expect("valid");
        // tasks.lease exists but did not run (a filter): not a problem.
        let applied = apply(
            &ledger,
            &known(&["auth.refresh", "tasks.lease"]),
            Vec::new(),
        );
        assert_eq!(
            applied.problems,
            [
                "conformance/expected-failures.yaml:7:3: no scenario has the id `tasks.skipped`: \
              remove or fix the entry"
            ]
        );
    }

    #[test]
    fn broken_ledgers_name_the_place() {
        let cases: &[(&str, &str)] = &[
            (
                "- scenario: a\n  target: staging\n  reason: r\n",
                "conformance/expected-failures.yaml:1:3: unknown target `staging`; expected mock, real or server",
            ),
            (
                "- scenario: a\n  target: mock\n  reason: ''\n",
                "conformance/expected-failures.yaml:1:3: `reason` is empty",
            ),
            (
                "- scenario: a\n  target: mock\n  reason: r\n- scenario: a\n  target: mock\n  reason: s\n",
                "conformance/expected-failures.yaml:4:3: `a` on mock is listed twice",
            ),
            (
                "- scenario: a\n  target: mock\n  reason: r\n  expires: 2030-01-01\n",
                "conformance/expected-failures.yaml:4:3: unknown field `expires`",
            ),
        ];
        for (text, message) in cases {
            let errors = ledger(text).expect_err("broken");
            assert!(errors[0].starts_with(message), "{errors:?}");
        }
        assert_eq!(ledger("").expect("empty"), Ledger::default());
        assert_eq!(ledger("[]").expect("empty"), Ledger::default());
    }

    #[test]
    fn the_checked_in_ledger_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("expected-failures.yaml");
        Ledger::load(&path).expect("valid");
    }
}
