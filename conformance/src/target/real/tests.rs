//! The real target's configuration and applicability.

use std::path::Path;

use super::*;
use crate::scenario::load::load_str;

fn scenario(body: &str) -> Scenario {
    let text = format!("schema: 1\nid: a\ntitle: t\nbehaviors: [TQ-REAL]\n{body}");
    load_str(Path::new("scenarios/a.yaml"), &text)
        .unwrap_or_else(|error| panic!("{error}"))
        .scenario
}

const STEPS: &str = "steps:\n  - call: tasks.get\n    args: { task: t1 }\n    exchanges:\n      - \
                     token: { issue: at-1 }\n      - api:\n          request: { method: GET, path: \
                     tasks/t1, token: at-1 }\n          response: { status: 404, json: { error: { \
                     code: 404 } } }\n    expect: { error: { kind: not_found } }\n";

#[test]
fn configuration_comes_from_flags_then_the_environment() {
    let env = |name: &str| match name {
        ENV_PROJECT => Some("s~env-app".to_owned()),
        ENV_QUEUES => Some("q1, q2,,q3".to_owned()),
        ENV_CREDENTIALS => Some("/keys/user.json".to_owned()),
        _ => None,
    };
    let config = RealConfig::resolve(&RealArgs::default(), env).expect("resolves");
    assert_eq!(config.project, "s~env-app");
    assert_eq!(config.queues, ["q1", "q2", "q3"]);
    assert!(
        matches!(&config.credentials, RealCredentials::File(path) if path == Path::new("/keys/user.json"))
    );
    assert_eq!(config.max_wait, DEFAULT_MAX_WAIT);
    assert_eq!(config.base_url, taskqueue_client::DEFAULT_BASE_URL);
    let flags = RealArgs {
        project: Some("s~flag-app"),
        queues: Some("only"),
        max_wait: Some(Duration::from_secs(1)),
        ..RealArgs::default()
    };
    let config = RealConfig::resolve(&flags, env).expect("resolves");
    assert_eq!(
        (config.project.as_str(), config.queues.as_slice()),
        ("s~flag-app", &["only".to_owned()][..])
    );
    assert_eq!(config.max_wait, Duration::from_secs(1));
    let error = RealConfig::resolve(&RealArgs::default(), |name| {
        (name == ENV_PROJECT).then(|| "s~a".to_owned())
    })
    .expect_err("no queues");
    assert!(error.contains("--queues"), "{error}");
    let token = RealConfig::resolve(&flags, |name| {
        (name == ENV_TOKEN).then(|| "ya29.x".to_owned())
    })
    .expect("resolves");
    assert_eq!(format!("{:?}", token.credentials), "Static([censored])");
}

#[test]
fn what_the_api_cannot_set_up_is_not_applicable_with_its_reason() {
    let credentials = "credentials: { grant: refresh_token, scopes: [taskqueue] }\n";
    let cases = [
        (format!("{credentials}{STEPS}"), None),
        (
            format!("{credentials}{STEPS}server: {{ acl: {{ user_emails: [a@b.c] }} }}\n"),
            Some("needs a queue ACL"),
        ),
        (
            format!("{credentials}{STEPS}server: {{ max_leases: 2 }}\n"),
            Some("task_retry_limit is 2"),
        ),
        (
            format!("{credentials}{STEPS}server: {{ principal: unregistered }}\n"),
            Some("registered wrongly on purpose"),
        ),
        (
            format!(
                "credentials: {{ grant: refresh_token, scopes: [taskqueue], lifetime: 600s }}\n{STEPS}"
            ),
            Some("needs tokens living 600s"),
        ),
        (
            format!(
                "credentials: {{ grant: refresh_token, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }}\n{STEPS}"
            ),
            None,
        ),
        (
            format!(
                "{credentials}steps:\n  - advance: 6s\n{}",
                &STEPS["steps:\n".len()..]
            ),
            Some("advances 6 s, longer than --max-wait 5 s"),
        ),
        (
            format!(
                "{credentials}steps:\n  - advance: 5s\n{}",
                &STEPS["steps:\n".len()..]
            ),
            None,
        ),
    ];
    for (text, reason) in cases {
        let reasons = not_applicable(
            &scenario(&text),
            DEFAULT_MAX_WAIT,
            true,
            Grant::RefreshToken,
        );
        match reason {
            None => assert!(reasons.is_empty(), "{text}: {reasons:?}"),
            Some(reason) => assert!(
                reasons.len() == 1 && reasons[0].contains(reason),
                "{text}: {reasons:?}"
            ),
        }
    }
    // Without observed token exchanges, a script needing more than one token is not applicable.
    let refresh = format!("{credentials}{STEPS}server: {{ revoke: [at-1] }}\n");
    let reasons = not_applicable(&scenario(&refresh), DEFAULT_MAX_WAIT, false, Grant::Static);
    assert!(
        reasons.iter().any(|r| r.contains("authorized_user")),
        "{reasons:?}"
    );
    // A service account's grant is signed into its assertion: no narrower
    // grant can be arranged, where an authorized_user's form can be.
    let narrower = format!(
        "credentials:\n  grant: refresh_token\n  scopes: [taskqueue]\n  granted: \
         [taskqueue.consumer]\n{STEPS}"
    );
    let reasons = not_applicable(
        &scenario(&narrower),
        DEFAULT_MAX_WAIT,
        true,
        Grant::JwtBearer,
    );
    assert!(
        reasons.len() == 1 && reasons[0].contains("signed assertion"),
        "{reasons:?}"
    );
    assert!(
        not_applicable(
            &scenario(&narrower),
            DEFAULT_MAX_WAIT,
            true,
            Grant::RefreshToken
        )
        .is_empty()
    );
}
