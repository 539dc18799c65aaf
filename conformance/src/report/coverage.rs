//! Inventory-driven coverage: every method of the discovery document × every
//! [`Case`] must be covered by a scenario that ran and passed on the mock
//! target, or be listed in `conformance/coverage/ineligible.yaml` with a
//! reason. Coverage is derived from the scenarios and their records, never
//! declared: a step covers a pair because of what it calls, under which
//! scopes, with which exchanges and which expectation.
//!
//! - `happy`: a call of the method expecting `ok`, under scopes that can
//!   write (`taskqueue` or `cloud-taskqueue`), with a 2xx API exchange.
//! - `scope:S`: a call of the method whose `credentials.scopes` are exactly
//!   `[S]` (and whose `granted`, if given, is the same), expecting `ok` if the
//!   scope table (docs/wire-format.md §7) allows the method under `S` and `scope_denied` if it
//!   does not. The opposite expectation is a contradiction and fails the
//!   coverage check; other error kinds neither cover nor contradict.
//!   `scope:foreign` is any scope URL that is not one of the four.
//! - `refresh-401`: a call of the method whose exchanges hold an API 401,
//!   then a token issue, then a 2xx API exchange.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use taskqueue_auth::{Access, Scope, ScopeSet};
use taskqueue_model::ApiMethod;

use crate::report::ScenarioRecord;
use crate::scenario::load::LoadedScenario;
use crate::scenario::{Exchange, Scenario, Spanned, Step};

/// The discovery document of `taskqueue:v1beta2`, the source of the
/// inventory's methods.
pub const DISCOVERY_DOCUMENT: &str = taskqueue_model::DISCOVERY_DOCUMENT;

/// Which scope a `scope:` case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeCase {
    /// `https://www.googleapis.com/auth/taskqueue` (read/write).
    Taskqueue,
    /// `https://www.googleapis.com/auth/taskqueue.consumer` (read-only).
    TaskqueueConsumer,
    /// `https://www.googleapis.com/auth/cloud-taskqueue` (read/write).
    CloudTaskqueue,
    /// `https://www.googleapis.com/auth/cloud-taskqueue.consumer` (read-only).
    CloudTaskqueueConsumer,
    /// Any other scope, which allows nothing on the Task Queue API.
    Foreign,
}

impl ScopeCase {
    /// The case of `scope`.
    pub fn of(scope: &Scope) -> ScopeCase {
        match scope {
            Scope::Taskqueue => ScopeCase::Taskqueue,
            Scope::TaskqueueConsumer => ScopeCase::TaskqueueConsumer,
            Scope::CloudTaskqueue => ScopeCase::CloudTaskqueue,
            Scope::CloudTaskqueueConsumer => ScopeCase::CloudTaskqueueConsumer,
            Scope::Other(_) => ScopeCase::Foreign,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ScopeCase::Taskqueue => "taskqueue",
            ScopeCase::TaskqueueConsumer => "taskqueue.consumer",
            ScopeCase::CloudTaskqueue => "cloud-taskqueue",
            ScopeCase::CloudTaskqueueConsumer => "cloud-taskqueue.consumer",
            ScopeCase::Foreign => "foreign",
        }
    }
}

/// What a method must be shown doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Case {
    /// A successful call under a read/write scope.
    Happy,
    /// A call under exactly one scope, whose outcome follows the scope table.
    Scope(ScopeCase),
    /// A 401, a fresh token, and a successful retry within one call.
    Refresh401,
}

impl Case {
    /// The 7 cases, in inventory order.
    pub const ALL: [Case; 7] = [
        Case::Happy,
        Case::Scope(ScopeCase::Taskqueue),
        Case::Scope(ScopeCase::TaskqueueConsumer),
        Case::Scope(ScopeCase::CloudTaskqueue),
        Case::Scope(ScopeCase::CloudTaskqueueConsumer),
        Case::Scope(ScopeCase::Foreign),
        Case::Refresh401,
    ];

    /// The case as written in `ineligible.yaml` and reports: `happy`,
    /// `scope:taskqueue.consumer`, `scope:foreign`, `refresh-401`.
    pub fn name(self) -> String {
        match self {
            Case::Happy => "happy".to_owned(),
            Case::Scope(scope) => format!("scope:{}", scope.name()),
            Case::Refresh401 => "refresh-401".to_owned(),
        }
    }

    /// The case named `name`; `None` for anything else.
    pub fn parse(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|case| case.name() == name)
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The method named `name`, in discovery form (`taskqueue.tasks.get`) or
/// short form (`tasks.get`).
pub fn parse_method(name: &str) -> Option<ApiMethod> {
    ApiMethod::from_id(name).or_else(|| ApiMethod::from_id(&format!("taskqueue.{name}")))
}

/// A scope as scenarios write it: a short name of the four Task Queue
/// scopes or a full URL, as [`crate::scenario::setup::scope`] reads it; any other
/// short name is kept as a foreign scope (the scenario then fails its setup,
/// and covers nothing).
pub fn parse_scope(name: &str) -> Scope {
    crate::scenario::setup::scope(name).unwrap_or_else(|_| Scope::parse(name))
}

/// What `method` needs from a token, per the scope table.
pub fn access_of(method: ApiMethod) -> Access {
    if method.is_write() {
        Access::Write
    } else {
        Access::Read
    }
}

/// The method × case pairs every run must account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    methods: Vec<ApiMethod>,
}

impl Inventory {
    /// The inventory of the built-in discovery document.
    pub fn builtin() -> Result<Inventory, String> {
        Inventory::from_discovery(DISCOVERY_DOCUMENT)
    }

    /// The inventory of a discovery document: every method id under
    /// `resources` (nested resources included), in document order. A method
    /// that `taskqueue_model::ApiMethod` does not know is an error: the
    /// harness could not call it.
    pub fn from_discovery(text: &str) -> Result<Inventory, String> {
        let document: Value = serde_json::from_str(text)
            .map_err(|error| format!("the discovery document is not JSON: {error}"))?;
        let mut ids = Vec::new();
        collect_method_ids(&document, &mut ids);
        if ids.is_empty() {
            return Err("the discovery document lists no method under `resources`".to_owned());
        }
        let mut methods = Vec::new();
        for id in ids {
            let method = ApiMethod::from_id(&id).ok_or_else(|| {
                format!(
                    "the discovery document lists `{id}`, which taskqueue_model::ApiMethod does \
                     not know"
                )
            })?;
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
        Ok(Inventory { methods })
    }

    /// The methods, in discovery order.
    pub fn methods(&self) -> &[ApiMethod] {
        &self.methods
    }

    /// Every method × case pair, method by method.
    pub fn pairs(&self) -> impl Iterator<Item = (ApiMethod, Case)> + '_ {
        self.methods
            .iter()
            .flat_map(|&method| Case::ALL.into_iter().map(move |case| (method, case)))
    }
}

fn collect_method_ids(node: &Value, ids: &mut Vec<String>) {
    let Some(resources) = node.get("resources").and_then(Value::as_object) else {
        return;
    };
    for resource in resources.values() {
        if let Some(methods) = resource.get("methods").and_then(Value::as_object) {
            for method in methods.values() {
                if let Some(id) = method.get("id").and_then(Value::as_str) {
                    ids.push(id.to_owned());
                }
            }
        }
        collect_method_ids(resource, ids);
    }
}

/// One pair that needs no scenario, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IneligibleEntry {
    /// The method.
    pub method: ApiMethod,
    /// The case.
    pub case: Case,
    /// Why no scenario is needed.
    pub reason: String,
    /// `file:line:column` of the entry, for messages.
    pub place: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIneligible {
    method: String,
    case: String,
    reason: String,
}

/// Loads `ineligible.yaml`: a list of `{method, case, reason}`. Every error
/// names `file:line:column`.
pub fn load_ineligible(path: &Path) -> Result<Vec<IneligibleEntry>, Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| vec![format!("{}: cannot read: {error}", path.display())])?;
    parse_ineligible(path, &text)
}

/// Parses the text of `ineligible.yaml`, naming `path` in errors.
pub fn parse_ineligible(path: &Path, text: &str) -> Result<Vec<IneligibleEntry>, Vec<String>> {
    let raw: Option<Vec<Spanned<RawIneligible>>> = serde_saphyr::from_str(text)
        .map_err(|error| vec![crate::check::ledger::yaml_error(path, &error)])?;
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
        let method = parse_method(&raw.method);
        let case = Case::parse(&raw.case);
        match (method, case) {
            (None, _) => errors.push(format!("{place}: unknown method `{}`", raw.method)),
            (_, None) => errors.push(format!(
                "{place}: unknown case `{}`; expected one of {}",
                raw.case,
                Case::ALL.map(Case::name).join(", ")
            )),
            (Some(_), Some(_)) if raw.reason.trim().is_empty() => {
                errors.push(format!("{place}: `reason` is empty"));
            }
            (Some(method), Some(case)) => {
                if !seen.insert((method, case)) {
                    errors.push(format!(
                        "{place}: {} × {case} is listed twice",
                        method.short_name()
                    ));
                }
                entries.push(IneligibleEntry {
                    method,
                    case,
                    reason: raw.reason.trim().to_owned(),
                    place,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// A step that covers a pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    /// The scenario id.
    pub scenario: String,
    /// The step's number, from 1.
    pub step: usize,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} step {}", self.scenario, self.step)
    }
}

/// What one call step shows, read from its script alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepCases {
    /// The method called.
    pub method: Option<ApiMethod>,
    /// The cases the step covers (if it runs and passes).
    pub cases: Vec<Case>,
    /// An expectation that contradicts the scope table.
    pub contradiction: Option<String>,
}

/// The cases a step of `scenario` covers, and any contradiction with the
/// scope table (docs/wire-format.md §7). An `advance` step covers nothing.
pub fn cases_of(scenario: &Scenario, step: &Step) -> StepCases {
    let Some(call) = &step.call else {
        return StepCases::default();
    };
    let method = call.value.0;
    let mut cases = Vec::new();
    let mut contradiction = None;
    let requested: Vec<Scope> = scenario
        .credentials
        .scopes
        .iter()
        .map(|scope| parse_scope(scope))
        .collect();
    let requested_set: ScopeSet = requested.iter().cloned().collect();
    let expects_ok = step
        .expect
        .as_ref()
        .is_some_and(|expect| expect.ok.is_some());
    let expected_error = step
        .expect
        .as_ref()
        .and_then(|expect| expect.error.as_ref())
        .map(|error| error.kind.name());
    let access = access_of(method);

    let api_statuses = || {
        step.exchanges
            .iter()
            .filter_map(|exchange| match &exchange.value {
                Exchange::Api(api) => Some(api.response.status),
                Exchange::Token(_) => None,
            })
    };

    if expects_ok
        && requested_set.grants(Access::Write)
        && api_statuses().any(|status| (200..300).contains(&status))
    {
        cases.push(Case::Happy);
    }

    let granted_same = match &scenario.credentials.granted {
        None => true,
        Some(granted) => {
            granted
                .iter()
                .map(|scope| parse_scope(scope))
                .collect::<ScopeSet>()
                == requested_set
        }
    };
    if let [scope] = requested.as_slice()
        && granted_same
    {
        let case = ScopeCase::of(scope);
        let allowed = ScopeSet::from([scope.clone()]).grants(access);
        let table = if allowed { "allows" } else { "denies" };
        match (allowed, expects_ok, expected_error) {
            (true, true, _) | (false, false, Some("scope_denied")) => {
                cases.push(Case::Scope(case));
            }
            (false, true, _) | (true, false, Some("scope_denied")) => {
                let wanted = if allowed {
                    "`ok`"
                } else {
                    "`error: { kind: scope_denied }`"
                };
                let got = if expects_ok {
                    "`ok`".to_owned()
                } else {
                    "`scope_denied`".to_owned()
                };
                contradiction = Some(format!(
                    "{} under [{}] expects {got}, but the scope table {table} it \
                     (expect {wanted})",
                    method.short_name(),
                    scenario.credentials.scopes[0],
                ));
            }
            _ => {}
        }
    }

    if shows_refresh_after_401(&step.exchanges) {
        cases.push(Case::Refresh401);
    }

    StepCases {
        method: Some(method),
        cases,
        contradiction,
    }
}

/// An API 401, later a token issue, later a 2xx API exchange.
fn shows_refresh_after_401(exchanges: &[Spanned<Exchange>]) -> bool {
    let mut state = 0;
    for exchange in exchanges {
        state = match (state, &exchange.value) {
            (0, Exchange::Api(api)) if api.response.status == 401 => 1,
            (1, Exchange::Token(token)) if token.issue.is_some() => 2,
            (2, Exchange::Api(api)) if (200..300).contains(&api.response.status) => 3,
            (state, _) => state,
        };
    }
    state == 3
}

/// The coverage the scenarios and their records show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    /// For each covered pair, the steps that cover it.
    pub covered: BTreeMap<(ApiMethod, Case), Vec<Evidence>>,
    /// Expectations that contradict the scope table, as messages
    /// naming the file, the line and the step.
    pub contradictions: Vec<String>,
}

/// Derives coverage from `scenarios` and their `records`: a step covers its
/// cases only if its scenario's record passed and holds the step (so a step
/// skipped on a target, or a failed scenario, covers nothing).
/// Contradictions come from the scripts alone.
pub fn derive(scenarios: &[LoadedScenario], records: &[ScenarioRecord]) -> Derivation {
    let mut ran: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for record in records.iter().filter(|record| record.outcome.is_passed()) {
        ran.entry(record.id.as_str())
            .or_default()
            .extend(record.steps.iter().map(|step| step.step));
    }
    let mut derivation = Derivation::default();
    for loaded in scenarios {
        let scenario = &loaded.scenario;
        for (index, step) in scenario.steps.iter().enumerate() {
            let number = index + 1;
            let shown = cases_of(scenario, &step.value);
            if let Some(message) = shown.contradiction {
                derivation.contradictions.push(format!(
                    "{}:{}:{}: step {number} of `{}`: {message}",
                    loaded.path.display(),
                    step.referenced.line(),
                    step.referenced.column(),
                    scenario.id
                ));
            }
            let Some(method) = shown.method else {
                continue;
            };
            if !ran
                .get(scenario.id.as_str())
                .is_some_and(|steps| steps.contains(&number))
            {
                continue;
            }
            for case in shown.cases {
                derivation
                    .covered
                    .entry((method, case))
                    .or_default()
                    .push(Evidence {
                        scenario: scenario.id.clone(),
                        step: number,
                    });
            }
        }
    }
    derivation
}

/// How one pair is accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairStatus {
    /// Steps that cover it.
    Covered(Vec<Evidence>),
    /// Listed in `ineligible.yaml`, with the reason.
    Ineligible(String),
    /// Neither: the run fails.
    Gap,
}

/// One inventory pair and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairRow {
    /// The method.
    pub method: ApiMethod,
    /// The case.
    pub case: Case,
    /// How it is accounted for.
    pub status: PairStatus,
}

/// The coverage check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageReport {
    /// Every inventory pair, in inventory order.
    pub rows: Vec<PairRow>,
    /// Problems other than gaps: contradictions with the scope table,
    /// ineligible entries that are covered after all or name no method of
    /// the inventory.
    pub problems: Vec<String>,
}

impl CoverageReport {
    /// Whether the check passes: no gap and no other problem.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.gaps().next().is_none()
    }

    /// The pairs no scenario covers and no entry excuses.
    pub fn gaps(&self) -> impl Iterator<Item = &PairRow> + '_ {
        self.rows.iter().filter(|row| row.status == PairStatus::Gap)
    }

    /// The gaps as one message listing each, if there are any.
    pub fn gap_summary(&self) -> Option<String> {
        let gaps: Vec<String> = self
            .gaps()
            .map(|row| format!("{} × {}", row.method.short_name(), row.case))
            .collect();
        (!gaps.is_empty()).then(|| {
            format!(
                "{} coverage gap(s): no passing mock scenario covers, and \
                 conformance/coverage/ineligible.yaml does not list:\n  {}",
                gaps.len(),
                gaps.join("\n  ")
            )
        })
    }

    /// Every message that fails the check: the problems, then the gaps.
    pub fn messages(&self) -> Vec<String> {
        let mut messages = self.problems.clone();
        messages.extend(self.gap_summary());
        messages
    }

    /// How many pairs are covered, ineligible, and gaps.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for row in &self.rows {
            match row.status {
                PairStatus::Covered(_) => counts.0 += 1,
                PairStatus::Ineligible(_) => counts.1 += 1,
                PairStatus::Gap => counts.2 += 1,
            }
        }
        counts
    }
}

/// Checks `derivation` against the `inventory` and the `ineligible` list.
/// An ineligible entry for a covered pair is a problem too: the list must
/// only excuse what no scenario shows.
pub fn check(
    inventory: &Inventory,
    ineligible: &[IneligibleEntry],
    derivation: &Derivation,
) -> CoverageReport {
    let mut rows = Vec::new();
    let mut problems = derivation.contradictions.clone();
    for entry in ineligible {
        if !inventory.methods().contains(&entry.method) {
            problems.push(format!(
                "{}: {} is not a method of the discovery document",
                entry.place,
                entry.method.short_name()
            ));
        }
    }
    for (method, case) in inventory.pairs() {
        let excuse = ineligible
            .iter()
            .find(|entry| entry.method == method && entry.case == case);
        let evidence = derivation.covered.get(&(method, case));
        let status = match (evidence, excuse) {
            (Some(evidence), Some(entry)) => {
                problems.push(format!(
                    "{}: {} × {case} is listed as ineligible but {} covers it: remove the entry",
                    entry.place,
                    method.short_name(),
                    evidence[0]
                ));
                PairStatus::Covered(evidence.clone())
            }
            (Some(evidence), None) => PairStatus::Covered(evidence.clone()),
            (None, Some(entry)) => PairStatus::Ineligible(entry.reason.clone()),
            (None, None) => PairStatus::Gap,
        };
        rows.push(PairRow {
            method,
            case,
            status,
        });
    }
    CoverageReport { rows, problems }
}

#[cfg(test)]
mod tests;
