//! Telling the two 403s apart: a token that lacks a scope, and a caller the
//! resource's ACL refuses.

use http::StatusCode;
use serde_json::Value;
use taskqueue_auth::ScopeSet;
use taskqueue_model::ErrorEnvelope;

use crate::challenge;

/// The `errors[].reason` of a token that lacks a scope (Google's global
/// domain, the Task Queue's era).
const INSUFFICIENT_PERMISSIONS: &str = "insufficientPermissions";
/// The `google.rpc.ErrorInfo` reason of newer envelopes for the same
/// failure, in `error.details[].reason` (sometimes in `errors[].reason`).
const ACCESS_TOKEN_SCOPE_INSUFFICIENT: &str = "ACCESS_TOKEN_SCOPE_INSUFFICIENT";
/// The `errors[].reason` of an ACL refusal.
const FORBIDDEN: &str = "forbidden";

/// A 403 because the token lacks a scope the call needs.
///
/// Recognized by `WWW-Authenticate: Bearer error="insufficient_scope"`
/// (RFC 6750), or by the envelope reason `insufficientPermissions` or
/// `ACCESS_TOKEN_SCOPE_INSUFFICIENT` (in `errors[]` or `details[]`). The
/// transport neither refreshes the token (a refresh cannot add scopes) nor
/// retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDenial {
    required: Option<ScopeSet>,
    granted: ScopeSet,
    granted_from_token: bool,
}

impl ScopeDenial {
    /// The scopes the server asked for in the challenge's `scope` parameter
    /// (any one of them would do), if it named any.
    pub fn required(&self) -> Option<&ScopeSet> {
        self.required.as_ref()
    }

    /// The scopes of the refused token: those the authorization server
    /// reported granting ([`AccessToken::granted_scopes`](taskqueue_auth::AccessToken::granted_scopes)),
    /// or else the scopes the transport asked the provider for.
    pub fn granted(&self) -> &ScopeSet {
        &self.granted
    }

    /// Whether [`ScopeDenial::granted`] is what the authorization server
    /// reported for the refused token (`true`), or only what was requested
    /// (`false`: the provider did not say, and some, such as the Compute
    /// Engine metadata server, ignore the requested scopes).
    pub fn granted_from_token(&self) -> bool {
        self.granted_from_token
    }
}

/// What a 403 was, judged from its challenge and envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The token lacks a scope; `required` is the challenge's `scope` list.
    Scope { required: Option<ScopeSet> },
    /// The caller is not allowed by the resource's ACL.
    Acl,
}

impl Denial {
    /// Classifies a response; `None` unless it is a 403 of one of the two kinds.
    pub(crate) fn classify(
        status: StatusCode,
        www_authenticate: Option<&str>,
        envelope: Option<&ErrorEnvelope>,
    ) -> Option<Denial> {
        if status != StatusCode::FORBIDDEN {
            return None;
        }
        let challenge = www_authenticate.and_then(challenge::insufficient_scope);
        let scope_reason = envelope.is_some_and(|envelope| {
            reasons(envelope).any(|reason| {
                reason == INSUFFICIENT_PERMISSIONS || reason == ACCESS_TOKEN_SCOPE_INSUFFICIENT
            })
        });
        if challenge.is_some() || scope_reason {
            let required = challenge
                .as_ref()
                .and_then(|challenge| challenge.param("scope"))
                .map(ScopeSet::parse_space_separated)
                .filter(|scopes| !scopes.is_empty());
            return Some(Denial::Scope { required });
        }
        let forbidden = envelope.is_some_and(|envelope| {
            envelope
                .error
                .errors
                .iter()
                .any(|detail| detail.reason.as_deref() == Some(FORBIDDEN))
        });
        forbidden.then_some(Denial::Acl)
    }

    /// The scope denial, given the scopes of the refused token (if the
    /// provider reported them) and the scopes requested.
    pub(crate) fn scope_denial(
        &self,
        token_scopes: Option<&ScopeSet>,
        requested: &ScopeSet,
    ) -> Option<ScopeDenial> {
        match self {
            Denial::Scope { required } => Some(ScopeDenial {
                required: required.clone(),
                granted: token_scopes.unwrap_or(requested).clone(),
                granted_from_token: token_scopes.is_some(),
            }),
            Denial::Acl => None,
        }
    }
}

/// Every reason of an envelope: `errors[].reason`, and the
/// `error.details[].reason` of newer envelopes, which this crate's model
/// keeps among the unknown fields.
fn reasons(envelope: &ErrorEnvelope) -> impl Iterator<Item = &str> {
    let errors = envelope
        .error
        .errors
        .iter()
        .filter_map(|detail| detail.reason.as_deref());
    let details = envelope
        .error
        .unknown_fields
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|detail| detail.get("reason").and_then(Value::as_str));
    errors.chain(details)
}

#[cfg(test)]
mod tests {
    use taskqueue_auth::Scope;

    use super::*;

    const HEADER: &str = r#"Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="https://www.googleapis.com/auth/taskqueue https://www.googleapis.com/auth/cloud-taskqueue""#;

    fn envelope(json: &str) -> ErrorEnvelope {
        serde_json::from_str(json).expect("an envelope")
    }

    fn scope(required: Option<&[Scope]>) -> Option<Denial> {
        Some(Denial::Scope {
            required: required.map(|scopes| scopes.iter().cloned().collect()),
        })
    }

    #[test]
    fn a_403_is_classified_by_challenge_and_reasons() {
        let read_write: &[Scope] = &[Scope::Taskqueue, Scope::CloudTaskqueue];
        let old = r#"{"error":{"errors":[{"domain":"global","reason":"insufficientPermissions","message":"Insufficient Permission"}],"code":403,"message":"Insufficient Permission"}}"#;
        let newer = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com"}]}}"#;
        let in_errors =
            r#"{"error":{"errors":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}],"code":403}}"#;
        let second = r#"{"error":{"errors":[{"reason":"other"},{"reason":"insufficientPermissions"}],"code":403}}"#;
        let forbidden = r#"{"error":{"errors":[{"domain":"global","reason":"forbidden","message":"Forbidden"}],"code":403,"message":"Forbidden"}}"#;
        let acl_status_only =
            r#"{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}"#;
        let quota = r#"{"error":{"errors":[{"reason":"dailyLimitExceeded"}],"code":403}}"#;
        let odd_details = r#"{"error":{"code":403,"details":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}}"#;
        // (status, WWW-Authenticate, body, expected)
        type Case<'a> = (u16, Option<&'a str>, Option<&'a str>, Option<Denial>);
        let cases: &[Case<'_>] = &[
            (403, Some(HEADER), Some(old), scope(Some(read_write))),
            (403, Some(HEADER), None, scope(Some(read_write))),
            (
                403,
                Some(r#"Bearer error="insufficient_scope""#),
                None,
                scope(None),
            ),
            (
                403,
                Some(r#"Bearer error="insufficient_scope", scope="""#),
                None,
                scope(None),
            ),
            (403, None, Some(old), scope(None)),
            (403, None, Some(newer), scope(None)),
            (403, None, Some(in_errors), scope(None)),
            (403, None, Some(second), scope(None)),
            // The header wins over an ACL reason: the token is the problem.
            (403, Some(HEADER), Some(forbidden), scope(Some(read_write))),
            (403, None, Some(forbidden), Some(Denial::Acl)),
            (
                403,
                Some(r#"Bearer realm="x""#),
                Some(forbidden),
                Some(Denial::Acl),
            ),
            (403, None, Some(acl_status_only), None),
            (403, None, Some(quota), None),
            (403, None, Some(odd_details), None),
            (403, None, None, None),
            (403, Some(r#"Bearer error="invalid_token""#), None, None),
            // Only a 403 is a denial.
            (401, Some(HEADER), Some(old), None),
            (400, None, Some(forbidden), None),
        ];
        for (status, header, body, expected) in cases {
            let status = StatusCode::from_u16(*status).expect("status");
            let envelope = body.map(envelope);
            assert_eq!(
                &Denial::classify(status, *header, envelope.as_ref()),
                expected,
                "{status} {header:?} {body:?}"
            );
        }
    }

    #[test]
    fn granted_scopes_come_from_the_token_else_from_the_request() {
        let denial = Denial::Scope { required: None };
        let requested = ScopeSet::from([Scope::Taskqueue]);
        let token = ScopeSet::from([Scope::TaskqueueConsumer]);
        let from_token = denial
            .scope_denial(Some(&token), &requested)
            .expect("a scope denial");
        assert_eq!(from_token.granted(), &token);
        assert!(from_token.granted_from_token());
        let from_request = denial
            .scope_denial(None, &requested)
            .expect("a scope denial");
        assert_eq!(from_request.granted(), &requested);
        assert!(!from_request.granted_from_token());
        assert_eq!(Denial::Acl.scope_denial(Some(&token), &requested), None);
    }
}
