//! The operator's configuration as it is parsed, defaulted, scoped and refused.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::tool_filter::tests::tool;
use super::*;
use crate::protocol::person::Person;

/// Whether `grant` lets a program call `upstream`'s tool `name` (with or without approval).
fn allows(grant: &Grant, upstream: &str, name: &str) -> bool {
    grant.verdict(upstream, &tool(name, None)) != Verdict::Block
}

/// Whether `filter` exposes the tool `name`.
fn exposes(filter: &ToolFilter, name: &str) -> bool {
    filter.verdict(&tool(name, None)) != Verdict::Block
}

/// Two upstreams, one with a secret header; shared with the header templating tests.
pub(super) const TWO_UPSTREAMS: &str = r#"[
    {"name": "everything", "url": "http://127.0.0.1:3101/mcp"},
    {"name": "github", "url": "https://api.example.com/mcp",
     "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}}
]"#;

#[test]
fn the_readme_approvals_example_asks_for_destructive_calls_and_blocks_what_it_denies() {
    let config = RunnerConfig::from_json(readme_example("config")).unwrap();
    let access =
        AccessPolicy::from_json(Some(readme_example("approvals")), &config.upstream_names())
            .unwrap();
    let read_only = rmcp::model::ToolAnnotations::new().read_only(true);
    let engineer = Person::signed_in("e1", None, vec!["engineering".into()]);
    let grant = access.grant_for(Some(&engineer)).under(&config.upstreams);
    let verdict = |name: &str, annotations| grant.verdict("github", &tool(name, annotations));
    assert_eq!(
        verdict("get_issue", Some(read_only.clone())),
        Verdict::Allow
    );
    assert_eq!(verdict("merge_pull", Some(read_only)), Verdict::Approve);
    assert_eq!(
        verdict("create_issue", None),
        Verdict::Approve,
        "unannotated counts as destructive"
    );
    assert_eq!(verdict("delete_repo", None), Verdict::Block);
    assert_eq!(
        verdict("delete_branch", None),
        Verdict::Block,
        "the upstream's own deny"
    );
}

#[test]
fn parses_upstreams_in_order() {
    let config = RunnerConfig::from_json(TWO_UPSTREAMS).unwrap();
    assert_eq!(config.upstream_names(), ["everything", "github"]);
    assert_eq!(
        config.upstream("github").unwrap().url,
        "https://api.example.com/mcp"
    );
}

#[test]
fn a_scope_narrows_to_configured_upstreams_in_configuration_order() {
    let config = RunnerConfig::from_json(
        r#"[{"name": "a", "url": "http://127.0.0.1:1/mcp"},
            {"name": "b", "url": "http://127.0.0.1:2/mcp"},
            {"name": "c", "url": "http://127.0.0.1:3/mcp"}]"#,
    )
    .unwrap();
    assert_eq!(config.scope(None).unwrap(), ["a", "b", "c"]);
    assert_eq!(config.scope(Some("c, a,")).unwrap(), ["a", "c"]);
    assert_eq!(config.scope(Some(" , ")), Err(ScopeError::Empty));
    let unknown = config.scope(Some("a,zz")).unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "the `upstreams` URL parameter names `zz`, which is not configured; the configured \
         upstreams are: a, b, c"
    );
}

/// The fenced block after `<!-- example: NAME -->` in README.md.
fn readme_example(name: &str) -> &'static str {
    let readme = include_str!("../../README.md");
    let marker = format!("<!-- example: {name} -->");
    let after_marker = &readme[readme.find(&marker).expect("example is in README.md")..];
    let body = &after_marker[after_marker.find("```").unwrap()..];
    let body = &body[body.find('\n').unwrap() + 1..];
    &body[..body.find("\n```").unwrap()]
}

#[test]
fn the_readme_limits_example_is_valid() {
    let limits =
        crate::sandbox::limits::ExecutionLimits::from_json(readme_example("limits")).unwrap();
    assert_eq!((limits.timeout_ms, limits.max_tool_calls), (60_000, 200));
}

#[test]
fn the_readme_configuration_example_is_valid() {
    let config = RunnerConfig::from_json(readme_example("config")).unwrap();
    assert_eq!(config.upstream_names(), ["everything", "github", "legacy"]);
    assert_eq!(config.upstreams[2].transport, Transport::Sse);
    let github = config.upstream("github").unwrap();
    assert_eq!(
        github.resolved_headers(|_| Some("t".into())).unwrap()[0].1,
        "Bearer t"
    );
}

#[test]
fn the_readme_access_example_grants_as_it_says() {
    let config = RunnerConfig::from_json(readme_example("config")).unwrap();
    let access =
        AccessPolicy::from_json(Some(readme_example("access")), &config.upstream_names()).unwrap();
    let ci = access.grant_for(Some(&Person::access_key("ci-bot")));
    assert!(allows(&ci, "github", "search_issues") && !allows(&ci, "github", "create_issue"));
    assert!(
        !ci.reaches("everything"),
        "an entry of one's own replaces the default"
    );
    let alice = Person::signed_in("1", Some("alice@example.com".into()), vec![]);
    assert!(allows(
        &access.grant_for(Some(&alice)),
        "legacy",
        "anything"
    ));
    let engineer = Person::signed_in("2", None, vec!["engineering".into()]);
    let engineering = access.grant_for(Some(&engineer));
    assert!(allows(&engineering, "github", "create_issue"));
    assert!(!allows(&engineering, "github", "delete_repo"));
    let stranger = access.grant_for(Some(&Person::access_key("stranger")));
    assert!(stranger.reaches("everything") && !stranger.reaches("github"));
}

#[test]
fn the_readme_access_keys_example_names_each_key() {
    let line = readme_example("runner-token")
        .lines()
        .find_map(|line| line.strip_prefix("RUNNER_TOKEN="))
        .unwrap();
    let keys = AccessKeys::parse(Some(line));
    assert_eq!(keys.identify("k-7Hq2vT9xLmP4").unwrap().name, "alice");
    assert_eq!(keys.identify("k-Zr81Wd0sYcQe").unwrap().name, "ci-bot");
}

#[test]
fn per_upstream_settings_have_defaults_and_can_be_set() {
    let config = RunnerConfig::from_json(
        r#"[{"name": "a", "url": "http://x"},
            {"name": "b", "url": "http://y/sse", "transport": "sse", "timeoutMs": 500,
             "toolsTtlSeconds": 0, "tools": {"allow": ["get_*"], "deny": ["get_secret"]},
             "maxResultBytes": 2048, "maxConcurrentCalls": 1}]"#,
    )
    .unwrap();
    let [a, b] = &config.upstreams[..] else {
        panic!("two upstreams")
    };
    assert_eq!(
        (a.transport, a.timeout_ms, a.tools_ttl_seconds),
        (
            Transport::StreamableHttp,
            DEFAULT_TIMEOUT_MS,
            DEFAULT_TOOLS_TTL_SECONDS
        )
    );
    assert_eq!(
        (b.transport, b.timeout_ms, b.tools_ttl_seconds),
        (Transport::Sse, 500, 0)
    );
    assert_eq!(
        (a.max_result_bytes, a.max_concurrent_calls),
        (DEFAULT_MAX_RESULT_BYTES, None)
    );
    assert_eq!(
        (b.max_result_bytes, b.max_concurrent_calls),
        (2048, Some(1))
    );
    assert!(exposes(&b.tools, "get_stock"));
    assert!(!exposes(&b.tools, "get_secret"), "deny wins over allow");
    assert!(!exposes(&b.tools, "create_order"), "not in allow");
    assert!(
        exposes(&a.tools, "anything"),
        "no filter exposes every tool"
    );
}

#[test]
fn rejects_each_bad_field_by_name() {
    let cases = [
        (
            r#"[{"name": "Bad-Name", "url": "http://x"}]"#,
            "UPSTREAMS[0].name",
        ),
        (r#"[{"name": "ok", "url": "ftp://x"}]"#, "UPSTREAMS[0].url"),
        (
            r#"[{"name": "ok", "url": "http://x", "headers": {"A": "${"}}]"#,
            "headers.A",
        ),
        (
            r#"[{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]"#,
            "[1].name",
        ),
        (r#"[{"name": "class", "url": "http://x"}]"#, "reserved"),
        (r#"[{"name": "console", "url": "http://x"}]"#, "reserved"),
        (
            r#"[{"name": "a", "url": "http://x", "extra": 1}]"#,
            "unknown field `extra`",
        ),
        (r#"{"name": "a"}"#, "UPSTREAMS is not valid"),
        (
            r#"[{"name": "a", "url": "http://x", "transport": "websocket"}]"#,
            "unknown variant `websocket`",
        ),
        (
            r#"[{"name": "a", "url": "http://x", "timeoutMs": 5}]"#,
            "UPSTREAMS[0].timeoutMs: 5 is outside 100 to 120000",
        ),
        (
            r#"[{"name": "a", "url": "http://x", "tools": {"deny": [""]}}]"#,
            "UPSTREAMS[0].tools.deny: a pattern is empty",
        ),
        (
            r#"[{"name": "a", "url": "http://x", "maxConcurrentCalls": 0}]"#,
            "UPSTREAMS[0].maxConcurrentCalls: 0 is outside 1 to 1000",
        ),
        (
            r#"[{"name": "a", "url": "http://x", "maxResultBytes": 100000000}]"#,
            "UPSTREAMS[0].maxResultBytes: 100000000 is outside 1024 to 33554432",
        ),
    ];
    for (json, expected) in cases {
        let err = RunnerConfig::from_json(json).unwrap_err().to_string();
        assert!(err.contains(expected), "{json}: {err}");
    }
}

#[test]
fn the_readme_oauth_upstreams_example_is_valid() {
    let config = RunnerConfig::from_json(readme_example("oauth-upstreams")).unwrap();
    let per = |name: &str| config.upstream(name).and_then(|u| u.oauth()).map(|o| o.per);
    assert_eq!(per("linear"), Some(Per::Person));
    assert_eq!(per("sentry"), Some(Per::Shared));
    let github = config.upstream("github").unwrap().oauth().unwrap();
    let lookup = |name: &str| (name == "GITHUB_CLIENT_SECRET").then(|| "s3cret".to_owned());
    assert_eq!(github.resolved_secret(&lookup), Ok(Some("s3cret".into())));
}

#[test]
fn an_oauth_upstream_is_refused_with_the_field_at_fault() {
    let refused = |auth: &str| {
        let text = format!(r#"[{{"name": "x", "url": "https://x.example/mcp", "auth": {auth}}}]"#);
        RunnerConfig::from_json(&text).unwrap_err().to_string()
    };
    assert!(
        refused(r#"{"type": "oauth", "clientId": "c", "clientSecret": "plain"}"#)
            .contains("auth.clientSecret: must name a secret")
    );
    assert!(refused(r#"{"type": "oauth", "clientSecret": "${S}"}"#).contains("needs a clientId"));
    assert!(
        refused(r#"{"type": "oauth", "clientMetadataUrl": "http://x.example/c.json"}"#)
            .contains("auth.clientMetadataUrl")
    );
    assert!(refused(r#"{"type": "oauth", "per": "everyone"}"#).contains("unknown variant"));
    assert!(refused(r#"{"type": "basic"}"#).contains("UPSTREAMS is not valid"));
    let with_header = r#"[{"name": "x", "url": "https://x.example/mcp", "headers": {"authorization": "t"},
                          "auth": {"type": "oauth"}}]"#;
    let header = RunnerConfig::from_json(with_header)
        .unwrap_err()
        .to_string();
    assert!(header.contains("headers.Authorization"), "{header}");
    let sse = r#"[{"name": "x", "url": "https://x.example/sse", "transport": "sse", "auth": {"type": "oauth"}}]"#;
    assert!(RunnerConfig::from_json(sse)
        .unwrap_err()
        .to_string()
        .contains("UPSTREAMS[0].auth"));
}
