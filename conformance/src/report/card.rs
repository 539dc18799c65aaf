//! What a run tells people: a live progress line on stderr, a summary table
//! on stdout, JUnit XML for CI UIs, and a Markdown matrix of behaviour ×
//! method × target (itself snapshotted, so a coverage change gets reviewed).
//! Every report is rendered to a string first and scanned for secrets
//! (`secrets::SecretScanner`) before anything is written.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use crate::check::ledger::{ScenarioResult, tally};
use crate::report::Target;
use crate::report::coverage::CoverageReport;

/// Everything a run found: the reports are views of it.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The target the scenarios ran on.
    pub target: Target,
    /// One result per scenario that ran, in run order.
    pub results: Vec<ScenarioResult>,
    /// The coverage check, if it ran (mock target, no filter).
    pub coverage: Option<CoverageReport>,
    /// Why the coverage check did not run, if it did not.
    pub coverage_skipped: Option<String>,
    /// Ledger problems (entries naming no scenario).
    pub ledger_problems: Vec<String>,
    /// Snapshots that are new or differ (or that could not be checked).
    pub snapshot_problems: Vec<String>,
    /// The run's wall time.
    pub wall: Duration,
}

impl RunReport {
    /// Every reason the run fails, one message each; empty if it passes.
    pub fn failures(&self) -> Vec<String> {
        let mut failures: Vec<String> = self
            .results
            .iter()
            .filter(|result| result.verdict.fails_run())
            .map(|result| {
                format!(
                    "{} on {}: {}",
                    result.record.id, result.record.target, result.verdict
                )
            })
            .collect();
        failures.extend(self.problems());
        failures
    }

    /// The reasons to fail that are not a scenario's: ledger entries naming
    /// no scenario, snapshots that differ, coverage problems and gaps.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.ledger_problems.clone();
        problems.extend(self.snapshot_problems.iter().cloned());
        if let Some(coverage) = &self.coverage {
            problems.extend(coverage.messages());
        }
        problems
    }

    /// Whether the run passes.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }
}

/// A duration for humans: `12ms`, `1.23s`.
pub fn human_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}

/// The summary printed on stdout: a table (scenario, target, result, time),
/// the details of every result that is not a plain pass, the counts, the
/// coverage, and every reason the run fails.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    let width = report
        .results
        .iter()
        .map(|result| result.record.id.len())
        .chain(["scenario".len()])
        .max()
        .unwrap_or(8);
    let _ = writeln!(out, "{:<width$}  target  result  time", "scenario");
    for result in &report.results {
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:<6}  {}",
            result.record.id,
            result.record.target.name(),
            result.verdict.word(),
            human_duration(result.record.elapsed)
        );
    }
    let details: Vec<&ScenarioResult> = report
        .results
        .iter()
        .filter(|result| result.verdict.detail().is_some())
        .collect();
    if !details.is_empty() {
        out.push('\n');
        for result in details {
            let detail = result.verdict.detail().unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {} ({}): {}",
                result.verdict.word(),
                result.record.id,
                result.record.target,
                indent_continuation(&detail)
            );
        }
    }
    out.push('\n');
    let counts = tally(&report.results);
    let words = ["pass", "xfail", "skip", "FAIL", "STALE"]
        .iter()
        .map(|word| format!("{} {word}", counts.get(word).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "{} scenario(s) on {}: {words}",
        report.results.len(),
        report.target
    );
    let skipped = counts.get("skip").copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "report card: {} of {} applicable scenario(s) pass on {} ({skipped} not applicable, each \
         with its reason above)",
        counts.get("pass").copied().unwrap_or(0),
        report.results.len() - skipped,
        report.target
    );
    match (&report.coverage, &report.coverage_skipped) {
        (Some(coverage), _) => {
            let (covered, ineligible, gaps) = coverage.counts();
            let _ = writeln!(
                out,
                "coverage: {} pairs: {covered} covered, {ineligible} ineligible, {gaps} gap(s)",
                coverage.rows.len()
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "coverage: not checked ({why})");
        }
        (None, None) => {}
    }
    let failures = report.failures();
    if failures.is_empty() {
        let _ = writeln!(out, "result: ok");
    } else {
        let _ = writeln!(out, "result: FAILED ({} problem(s))", failures.len());
        // Scenario failures are detailed above: name them only.
        for result in report.results.iter().filter(|r| r.verdict.fails_run()) {
            let _ = writeln!(
                out,
                "  - {} {} on {}",
                result.verdict.word(),
                result.record.id,
                result.record.target
            );
        }
        for problem in report.problems() {
            let _ = writeln!(out, "  - {}", indent_continuation(&problem));
        }
    }
    out
}

fn indent_continuation(text: &str) -> String {
    text.replace('\n', "\n    ")
}

/// Escapes `text` for XML character data and attribute values; characters
/// XML 1.0 forbids become U+FFFD.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// How the progress line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// One line, rewritten in place (`\r`): stderr is a terminal.
    Live,
    /// One plain line per scenario, for logs of slow runs.
    Plain,
    /// Nothing: CI logs get the summary table only.
    Quiet,
}

/// The live progress line on stderr: `[12/74] mock auth.refresh-on-401 ...`.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    total: usize,
}

impl Progress {
    /// A progress line over `total` scenarios: live if stderr is a terminal,
    /// else plain when `plain_otherwise` (slow real runs), else quiet.
    pub fn for_stderr(total: usize, plain_otherwise: bool) -> Progress {
        let mode = if std::io::stderr().is_terminal() {
            ProgressMode::Live
        } else if plain_otherwise {
            ProgressMode::Plain
        } else {
            ProgressMode::Quiet
        };
        Progress::new(mode, total)
    }

    /// A progress line in `mode` over `total` scenarios.
    pub fn new(mode: ProgressMode, total: usize) -> Progress {
        Progress { mode, total }
    }

    /// The text shown when the `index`-th scenario (from 1) starts.
    pub fn line(&self, index: usize, target: Target, id: &str) -> String {
        match self.mode {
            ProgressMode::Live => format!("\r\x1b[2K[{index}/{}] {target} {id} ...", self.total),
            ProgressMode::Plain => format!("[{index}/{}] {target} {id}\n", self.total),
            ProgressMode::Quiet => String::new(),
        }
    }

    /// Shows scenario `id` as the `index`-th (from 1) of the run.
    pub fn show(&self, index: usize, target: Target, id: &str) {
        let line = self.line(index, target, id);
        if line.is_empty() {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(line.as_bytes());
        let _ = stderr.flush();
    }

    /// Clears the live line, so the summary starts on a clean line.
    pub fn finish(&self) {
        if self.mode == ProgressMode::Live {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(b"\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

#[cfg(test)]
mod tests;
