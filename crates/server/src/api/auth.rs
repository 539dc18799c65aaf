//! Resource-side authorization of API requests: who is calling (the bearer token), whether the token's scopes
//! allow the method, and whether the caller's email is in the queue's ACL.
//!
//! The checks run in this order, and each answers with its own error (issue 5 §3):
//!
//! | Check | Refusal |
//! |---|---|
//! | a bearer token in `Authorization: Bearer …` (scheme in any case) or, without that header, `oauth_token` | 401 `required` "Login Required" |
//! | the token was issued here and has not expired | 401 `authError` "Invalid Credentials", `WWW-Authenticate: Bearer realm="…", error="invalid_token"` |
//! | the token's scopes allow the method under the configured [`ScopePolicy`](crate::ScopePolicy) | 403 `insufficientPermissions`, `WWW-Authenticate: Bearer … error="insufficient_scope", scope="…"` (the accepted scopes) |
//! | the caller's email is in the queue's ACL ([`check_acl`]) | 403 `forbidden` |
//!
//! Authentication and the scope check come before the project and queue are looked up, so a request without a
//! valid token learns nothing about which queues exist; the ACL check needs the queue and comes right after the
//! lookup.
//!
//! Choices where Google's behaviour is not recorded:
//! - An `Authorization` header with another scheme (`Basic …`) carries no bearer token: the request is treated
//!   as having none (then `oauth_token`, else 401 `required`).
//! - `Authorization: Bearer` with an empty token, and a repeated `oauth_token`, are invalid credentials (401
//!   `authError`): something was presented, and it is not a token.
//! - The header wins over `oauth_token` when both are present.
//!
//! Tokens are only compared through [`TokenStore`](crate::TokenStore), which keeps digests; they are never
//! logged.

use axum::http::{HeaderMap, header};
use taskqueue_model::ApiMethod;

use super::error::ApiError;
use super::params::Params;
use crate::access::{Caller, check_acl};
use crate::config::QueueDef;
use crate::oauth::TokenRefusal;
use crate::state::AppState;

/// What the request presented as credentials.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presented<'a> {
    /// Nothing usable.
    Nothing,
    /// A token to look up.
    Token(&'a str),
    /// Something that cannot be a valid token.
    Malformed,
}

/// The bearer token of `Authorization`, if that header uses the `Bearer` scheme.
fn bearer_header(headers: &HeaderMap) -> Presented<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Presented::Nothing;
    };
    let Ok(value) = value.to_str() else {
        return Presented::Nothing;
    };
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Presented::Nothing;
    }
    match token.trim() {
        "" => Presented::Malformed,
        token => Presented::Token(token),
    }
}

/// The credentials of the request: the `Authorization` header first, then `oauth_token`.
fn presented<'a>(headers: &'a HeaderMap, params: &'a Params) -> Presented<'a> {
    match bearer_header(headers) {
        Presented::Nothing => match params.oauth_token() {
            None => Presented::Nothing,
            Some(Ok("")) | Some(Err(())) => Presented::Malformed,
            Some(Ok(token)) => Presented::Token(token),
        },
        found => found,
    }
}

/// Authenticates the request and checks that the token's scopes allow `method`.
///
/// # Errors
///
/// 401 `required`, 401 `authError` or 403 `insufficientPermissions`, as the module documentation says.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    method: ApiMethod,
) -> Result<Caller, ApiError> {
    let token = match presented(headers, params) {
        Presented::Nothing => return Err(ApiError::login_required()),
        Presented::Malformed => return Err(ApiError::invalid_credentials()),
        Presented::Token(token) => token,
    };
    let caller = match state.tokens.authenticate(token, state.now()).await {
        Ok(caller) => caller,
        Err(TokenRefusal::Unavailable) => return Err(ApiError::backend_error()),
        Err(TokenRefusal::Unknown | TokenRefusal::Expired) => {
            return Err(ApiError::invalid_credentials());
        }
    };
    let policy = state.config.scope_policy;
    if !policy.allows(&caller.scopes, method) {
        return Err(ApiError::insufficient_scope(
            &policy.accepted_scopes(method),
        ));
    }
    Ok(caller)
}

/// Checks the queue's ACL for `caller` and `method`.
///
/// # Errors
///
/// 403 `forbidden`.
pub(crate) fn authorize_queue(
    queue: &QueueDef,
    caller: &Caller,
    method: ApiMethod,
) -> Result<(), ApiError> {
    if check_acl(&queue.acl, &caller.email, method) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{Presented, presented};
    use crate::api::params::Params;

    fn with_header(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("a header value"),
        );
        headers
    }

    #[test]
    fn header_schemes_and_the_query_fallback() {
        let none = Params::default();
        let query = Params::parse(Some("oauth_token=from-query"));
        let cases: [(Option<&str>, &Params, Presented<'_>); 9] = [
            (Some("Bearer abc"), &none, Presented::Token("abc")),
            (Some("bearer  abc "), &none, Presented::Token("abc")),
            (Some("BEARER abc"), &query, Presented::Token("abc")),
            (Some("Bearer"), &none, Presented::Malformed),
            (Some("Bearer   "), &query, Presented::Malformed),
            (Some("Basic dXNlcjpwdw=="), &none, Presented::Nothing),
            (
                Some("Basic dXNlcjpwdw=="),
                &query,
                Presented::Token("from-query"),
            ),
            (None, &query, Presented::Token("from-query")),
            (None, &none, Presented::Nothing),
        ];
        for (header, params, expected) in cases {
            let headers = header.map(with_header).unwrap_or_default();
            assert!(presented(&headers, params) == expected, "{header:?}");
        }
        let repeated = Params::parse(Some("oauth_token=a&oauth_token=b"));
        assert!(presented(&HeaderMap::new(), &repeated) == Presented::Malformed);
        let empty = Params::parse(Some("oauth_token="));
        assert!(presented(&HeaderMap::new(), &empty) == Presented::Malformed);
    }
}
