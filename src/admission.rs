//! The order in which the Worker serves a request: first whether its caller may talk to the
//! endpoint at all (Host, Origin, token), and only then the operator's configuration. A caller
//! who is turned away so learns nothing of how the runner is configured, not even that its
//! configuration is broken (whose message may name an upstream's URL).

use std::fmt::Display;
use std::future::Future;

use crate::protocol::http::{Body, HttpResponse};

/// The backend `start` builds from the configuration, for a request the endpoint's guard did
/// not turn away: `refusal` is that guard's answer, sent instead when there is one. A
/// configuration `start` cannot read is answered 503 with its error, for the operator.
pub async fn admit<Backend, Error: Display, Started>(
    refusal: Option<HttpResponse>,
    start: impl FnOnce() -> Started,
) -> Result<Backend, HttpResponse>
where
    Started: Future<Output = Result<Backend, Error>>,
{
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    start().await.map_err(|err| HttpResponse {
        status: 503,
        headers: Vec::new(),
        body: Body::Complete(format!("The runner is misconfigured: {err}").into_bytes()),
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::cell::Cell;

    use futures::executor::block_on;
    use futures::future::ready;

    use super::*;
    use crate::admin;
    use crate::mcp::guard::RequestGuard;
    use crate::mcp::http;
    use crate::protocol::http::HttpRequest;

    /// What a broken configuration says: enough to find the upstream, not for strangers.
    const MISCONFIGURED: &str = "upstream `crm`: url https://crm.internal.example/mcp is not https";

    fn post(authorization: Option<&str>) -> HttpRequest {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(authorization.map(|value| ("authorization".to_owned(), value.to_owned())));
        HttpRequest {
            method: "POST".into(),
            authority: "127.0.0.1:8787".into(),
            headers,
            body: b"{}".to_vec(),
        }
    }

    fn text(response: &HttpResponse) -> String {
        String::from_utf8_lossy(response.bytes()).into_owned()
    }

    #[test]
    fn an_unauthenticated_caller_of_a_misconfigured_runner_gets_401_without_the_configuration() {
        let guard = RequestGuard::new(None, None, Some("t0ken".into()));
        let started = Cell::new(false);
        let start = || {
            started.set(true);
            ready(Err::<(), _>(MISCONFIGURED))
        };
        for request in [post(None), post(Some("Bearer wrong"))] {
            let refused = block_on(admit(http::refused(&request, &guard), start)).unwrap_err();
            assert_eq!(refused.status, 401);
            assert!(!text(&refused).contains("crm"), "{}", text(&refused));
        }
        let admin_refused =
            block_on(admit(admin::refused(&post(None), &guard), start)).unwrap_err();
        assert_eq!(admin_refused.status, 401);
        assert!(!text(&admin_refused).contains("crm"));
        assert!(!started.get(), "the configuration was never read");
    }

    #[test]
    fn a_foreign_host_is_403_before_the_configuration_is_read() {
        let mut rebound = post(None);
        rebound.authority = "evil.example.com".into();
        let refused = block_on(admit(
            http::refused(&rebound, &RequestGuard::default()),
            || ready(Err::<(), _>(MISCONFIGURED)),
        ))
        .unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(!text(&refused).contains("crm"));
    }

    #[test]
    fn an_admitted_caller_of_a_misconfigured_runner_is_told_what_is_wrong_with_503() {
        let guard = RequestGuard::new(None, None, Some("t0ken".into()));
        let request = post(Some("Bearer t0ken"));
        let answer = block_on(admit(http::refused(&request, &guard), || {
            ready(Err::<(), _>(MISCONFIGURED))
        }));
        let response = answer.unwrap_err();
        assert_eq!(response.status, 503);
        assert_eq!(
            text(&response),
            format!("The runner is misconfigured: {MISCONFIGURED}")
        );
        assert_eq!(
            block_on(admit(None, || ready(Ok::<_, String>(7)))).unwrap(),
            7
        );
    }
}
