//! Routes that only modules may call (event delivery): a secret shared by the processes
//! of one deployment, sent as a bearer token and checked in constant time.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use vocab::problem::Problem;

const SCHEME: &str = "Bearer ";

/// The shared secret. Its `Debug` never shows it, so it cannot leak through logged
/// configuration.
#[derive(Clone)]
pub struct InternalToken(Arc<Secret>);

struct Secret {
    /// Compared instead of the token itself: equal-length digests make the comparison
    /// independent of the presented token's length as well as of its content.
    digest: [u8; 32],
    /// `Bearer <token>`, marked sensitive so that HTTP tooling does not print it.
    authorization: HeaderValue,
}

impl InternalToken {
    /// Reads the token from a file (a Docker or Kubernetes secret), without the line
    /// break editors and `echo` leave at its end.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the internal token from {}", path.display()))?;
        text.trim_end_matches(['\n', '\r'])
            .parse()
            .map_err(|err| anyhow::anyhow!("the internal token in {}: {err}", path.display()))
    }

    /// The `authorization` header a caller sends.
    pub fn authorization(&self) -> HeaderValue {
        self.0.authorization.clone()
    }

    pub(crate) fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(token) = authorization.and_then(|v| v.as_bytes().strip_prefix(SCHEME.as_bytes()))
        else {
            return false;
        };
        bool::from(digest(token).ct_eq(&self.0.digest))
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl FromStr for InternalToken {
    type Err = &'static str;

    fn from_str(token: &str) -> Result<Self, Self::Err> {
        if token.is_empty() {
            return Err("the internal token is empty");
        }
        let mut authorization = HeaderValue::try_from(format!("{SCHEME}{token}"))
            .map_err(|_| "the internal token must be visible ASCII characters")?;
        authorization.set_sensitive(true);
        Ok(Self(Arc::new(Secret {
            digest: digest(token.as_bytes()),
            authorization,
        })))
    }
}

impl std::fmt::Debug for InternalToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalToken(<redacted>)")
    }
}

/// Refuses every request to `router` that does not carry `token`; with no token, lets
/// everything through (a deployment that has not set one).
pub fn guard(router: Router, token: Option<InternalToken>) -> Router {
    match token {
        Some(token) => router.layer(middleware::from_fn_with_state(token, require)),
        None => router,
    }
}

async fn require(State(token): State<InternalToken>, req: Request, next: Next) -> Response {
    if token.admits(req.headers().get(header::AUTHORIZATION)) {
        return next.run(req).await;
    }
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Internal route: a module's token is required",
    )
    .with_detail("this route is for cleave's own modules and needs the deployment's internal token")
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"cleave-internal\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn admits_only_the_same_token_as_a_bearer() {
        let token: InternalToken = "s3cret-token".parse().unwrap();
        assert!(token.admits(Some(&token.authorization())));
        assert!(token.admits(Some(&header("Bearer s3cret-token"))));
        assert!(!token.admits(Some(&header("Bearer s3cret-tokeN"))));
        assert!(!token.admits(Some(&header("Bearer s3cret"))));
        assert!(!token.admits(Some(&header("s3cret-token"))));
        assert!(!token.admits(Some(&header("Basic s3cret-token"))));
        assert!(!token.admits(None));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token: InternalToken = "s3cret-token".parse().unwrap();
        let shown = format!("{token:?} {:?}", Some(token.clone()));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(token.authorization().is_sensitive());
    }

    #[test]
    fn refuses_an_empty_or_unsendable_token() {
        assert!("".parse::<InternalToken>().is_err());
        assert!("line\nbreak".parse::<InternalToken>().is_err());
    }

    #[test]
    fn a_token_file_loses_its_trailing_line_break_only() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-a-file \r\n").unwrap();
        let token = InternalToken::read(&path).unwrap();
        assert!(token.admits(Some(&header("Bearer from-a-file "))));
        std::fs::write(&path, "\n").unwrap();
        assert!(InternalToken::read(&path).is_err());
    }
}
