//! Loading and validating scenario files. Every error names
//! `file:line:column` and what is wrong; nothing runs before a whole
//! directory has loaded cleanly.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::scenario::{
    Exchange, Grant, PrincipalMode, SCHEMA_VERSION, Scenario, ScriptedResponse, Spanned,
};

/// A scenario and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file, as given to the loader.
    pub path: PathBuf,
    /// The parsed, validated scenario.
    pub scenario: Scenario,
}

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// `file:line:column: message` (or `file: message` without a position).
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// The method ids a `call` may name (short form; `taskqueue.` may prefix them).
pub const METHODS: [&str; 8] = [
    "taskqueues.get",
    "tasks.delete",
    "tasks.get",
    "tasks.insert",
    "tasks.lease",
    "tasks.list",
    "tasks.patch",
    "tasks.update",
];

/// Loads every `*.yaml` file under `dir` (recursively), sorted by path.
/// Fails with every error found, not only the first.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedScenario>, Vec<LoadError>> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files).map_err(|error| {
        vec![LoadError {
            message: format!("{}: {error}", dir.display()),
        }]
    })?;
    files.sort();
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load_file(&file) {
            Ok(scenario) => loaded.push(scenario),
            Err(error) => errors.push(error),
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for scenario in &loaded {
        if let Some(first) = seen.insert(scenario.scenario.id.clone(), scenario.path.clone()) {
            errors.push(LoadError {
                message: format!(
                    "{}: duplicate scenario id `{}` (also in {})",
                    scenario.path.display(),
                    scenario.scenario.id,
                    first.display()
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

fn collect_yaml(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Loads and validates one scenario file.
pub fn load_file(path: &Path) -> Result<LoadedScenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|error| LoadError {
        message: format!("{}: cannot read: {error}", path.display()),
    })?;
    load_str(path, &text)
}

/// Parses and validates scenario `text`, naming `path` in errors.
pub fn load_str(path: &Path, text: &str) -> Result<LoadedScenario, LoadError> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|error| LoadError {
        message: format!("{}:{}", path.display(), first_line(&error.to_string())),
    })?;
    validate(path, &scenario)?;
    Ok(LoadedScenario {
        path: path.to_owned(),
        scenario,
    })
}

/// serde-saphyr's message starts `error: line L column C: what`; keep
/// `L:C: what` so the whole reads `file:L:C: what`.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    if let Some(rest) = line.strip_prefix("line ")
        && let Some((number, rest)) = rest.split_once(" column ")
        && let Some((column, what)) = rest.split_once(": ")
    {
        return format!("{number}:{column}: {what}");
    }
    format!(" {line}")
}

fn at<T>(path: &Path, spanned: &Spanned<T>, message: impl fmt::Display) -> LoadError {
    LoadError {
        message: format!(
            "{}:{}:{}: {message}",
            path.display(),
            spanned.referenced.line(),
            spanned.referenced.column()
        ),
    }
}

fn whole(path: &Path, message: impl fmt::Display) -> LoadError {
    LoadError {
        message: format!("{}: {message}", path.display()),
    }
}

fn validate(path: &Path, scenario: &Scenario) -> Result<(), LoadError> {
    if scenario.schema != SCHEMA_VERSION {
        return Err(whole(
            path,
            format!(
                "`schema: {}` is not supported; this harness reads schema {SCHEMA_VERSION}",
                scenario.schema
            ),
        ));
    }
    if scenario.id.trim().is_empty() {
        return Err(whole(path, "`id` is empty"));
    }
    if scenario.behaviors.is_empty() {
        return Err(whole(path, "`behaviors` lists no behaviour"));
    }
    if scenario.credentials.scopes.is_empty() {
        return Err(whole(path, "`credentials.scopes` is empty"));
    }
    if scenario.steps.is_empty() {
        return Err(whole(path, "`steps` is empty"));
    }
    validate_server(path, scenario)?;
    for (index, step) in scenario.steps.iter().enumerate() {
        let number = index + 1;
        let value = &step.value;
        match (&value.call, &value.advance) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(at(
                    path,
                    step,
                    format!("step {number}: give exactly one of `call` and `advance`"),
                ));
            }
            (None, Some(advance)) => {
                if !value.args.is_empty()
                    || !value.exchanges.is_empty()
                    || value.expect.is_some()
                    || value.counters.is_some()
                {
                    return Err(at(
                        path,
                        advance,
                        format!("step {number}: an `advance` step takes no other key"),
                    ));
                }
            }
            (Some(call), None) => {
                let Some(expect) = &value.expect else {
                    return Err(at(
                        path,
                        call,
                        format!("step {number}: `expect` is missing"),
                    ));
                };
                match (&expect.ok, &expect.error) {
                    (Some(_), None) => {}
                    (None, Some(_)) => {}
                    _ => {
                        return Err(at(
                            path,
                            call,
                            format!(
                                "step {number}: `expect` needs exactly one of `ok` and `error`"
                            ),
                        ));
                    }
                }
                for exchange in &value.exchanges {
                    if let Exchange::Token(token) = &exchange.value
                        && token.issue.is_some() == token.error.is_some()
                    {
                        return Err(at(
                            path,
                            exchange,
                            "a `token` exchange needs exactly one of `issue` and `error`",
                        ));
                    }
                    let response = match &exchange.value {
                        Exchange::Api(api) => Some(&api.response),
                        Exchange::Token(token) => token.error.as_ref(),
                    };
                    if let Some(problem) = response.and_then(response_problem) {
                        return Err(at(path, exchange, problem));
                    }
                }
            }
        }
    }
    Ok(())
}

/// What is wrong with a scripted response, if anything: it is either an
/// answer (a status from 100 to 599, with `json` or `body`, not both) or a
/// reset (`reset: true` alone: nothing is answered).
fn response_problem(response: &ScriptedResponse) -> Option<&'static str> {
    let answers = response.status != 0
        || !response.headers.is_empty()
        || response.json.is_some()
        || response.body.is_some();
    if response.reset {
        return answers.then_some(
            "a `reset: true` response answers nothing: it takes no `status`, `headers`, `json` \
             or `body`",
        );
    }
    if !(100..=599).contains(&response.status) {
        return Some(
            "a response needs a `status` from 100 to 599, or `reset: true` for a connection \
             closed without an answer",
        );
    }
    (response.json.is_some() && response.body.is_some())
        .then_some("a response has either `json` or `body`, not both")
}

/// Checks the `server` block: one of `skip` and `run` at most, each with a
/// reason; seeds with valid, distinct names, base64 payloads and instants;
/// token labels `at-N`; a principal mode that fits the grant.
fn validate_server(path: &Path, scenario: &Scenario) -> Result<(), LoadError> {
    let Some(server) = &scenario.server else {
        return Ok(());
    };
    let spec = &server.value;
    for (key, reason) in [("skip", &spec.skip), ("run", &spec.run)] {
        if reason
            .as_ref()
            .is_some_and(|reason| reason.trim().is_empty())
        {
            return Err(at(path, server, format!("`server.{key}` needs a reason")));
        }
    }
    if spec.skip.is_some() && spec.run.is_some() {
        return Err(at(path, server, "`server` takes `skip` or `run`, not both"));
    }
    let start = scenario.clock.start.0;
    let mut names = std::collections::BTreeSet::new();
    for seed in &spec.seed {
        let task = &seed.value;
        if let Err(error) = taskqueue_model::validate::task_name(&task.id) {
            return Err(at(path, seed, format!("seed `{}`: {error}", task.id)));
        }
        if task.before() == 0 || task.before() > scenario.steps.len() {
            return Err(at(
                path,
                seed,
                format!(
                    "seed `{}`: before_step {}: the scenario has steps 1 to {}",
                    task.id,
                    task.before(),
                    scenario.steps.len()
                ),
            ));
        }
        if !names.insert(task.id.as_str()) {
            return Err(at(
                path,
                seed,
                format!("seed `{}` is listed twice", task.id),
            ));
        }
        if let Some(payload) = &task.payload_base64
            && let Err(error) = taskqueue_model::Payload::from_base64(payload)
        {
            return Err(at(
                path,
                seed,
                format!("seed `{}`: payloadBase64: {error}", task.id),
            ));
        }
        for (key, value) in [
            ("enqueueTimestamp", &task.enqueue_timestamp),
            ("leaseTimestamp", &task.lease_timestamp),
        ] {
            if let Some(value) = value
                && let Err(why) = crate::scenario::template::micros_of(value, start)
            {
                return Err(at(path, seed, format!("seed `{}`: {key}: {why}", task.id)));
            }
        }
    }
    for revocation in &spec.revoke {
        let label = revocation.label();
        let numbered = label
            .strip_prefix("at-")
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0));
        if !numbered {
            return Err(at(
                path,
                server,
                format!("`server.revoke`: `{label}` is not a token label such as `at-1`"),
            ));
        }
        let step = revocation.from_step();
        if step == 0 || step > scenario.steps.len() {
            return Err(at(
                path,
                server,
                format!(
                    "`server.revoke`: `{label}` from step {step}: the scenario has steps 1 to {}",
                    scenario.steps.len()
                ),
            ));
        }
    }
    let grant = scenario.credentials.grant;
    let fits = match spec.principal {
        PrincipalMode::Registered => true,
        PrincipalMode::Unregistered => grant != Grant::Static && grant != Grant::Metadata,
        PrincipalMode::WrongSecret => grant == Grant::RefreshToken,
        PrincipalMode::WrongKey => grant == Grant::JwtBearer,
    };
    if !fits {
        return Err(at(
            path,
            server,
            format!(
                "`server.principal: {}` does not apply to the `{}` grant",
                spec.principal.name(),
                grant.name()
            ),
        ));
    }
    if spec.generated.iter().any(|name| name.trim().is_empty()) {
        return Err(at(path, server, "`server.generated` lists an empty name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
