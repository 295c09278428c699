//! Server-Sent Events, as streamable HTTP servers send them: each event's `data:` lines joined.
//!
//! Spec: <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>.
//! Events with empty data (servers send a "priming" event holding only an `id:`) are skipped.

/// The data of every event in `stream` that carries any.
pub fn event_data(stream: &str) -> Vec<String> {
    let mut events = Vec::new();
    let mut data: Option<String> = None;
    for line in stream
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
    {
        if line.is_empty() {
            events.extend(data.take().filter(|d| !d.is_empty()));
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match data.as_mut() {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    events.extend(data.filter(|d| !d.is_empty()));
    events
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn skips_priming_events_and_comments() {
        let stream = "id: 1\ndata:\n\n: keep-alive\n\nevent: message\ndata: {\"a\":1}\n\n";
        assert_eq!(event_data(stream), ["{\"a\":1}"]);
    }

    #[test]
    fn joins_multi_line_data_and_accepts_crlf_and_a_missing_final_blank_line() {
        let stream = "data: one\r\ndata: two\r\n\r\ndata: three";
        assert_eq!(event_data(stream), ["one\ntwo", "three"]);
    }
}
