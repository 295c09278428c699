//! Server-Sent Events, read incrementally as the bytes of a stream arrive.
//!
//! Spec: <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>.
//! Streamable HTTP servers answer a POST with a stream of `message` events; the 2024-11-05
//! HTTP+SSE transport also sends one `endpoint` event. Events with empty data (servers send a
//! "priming" event holding only an `id:`) are skipped.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; `message` when absent.
    pub name: String,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// An event-stream parser fed with chunks as they arrive, cut anywhere (even inside a UTF-8
/// character or between `\r` and `\n`).
#[derive(Debug, Default)]
pub struct EventParser {
    /// Bytes of a line not yet ended.
    pending: Vec<u8>,
    /// The event being assembled.
    name: Option<String>,
    data: Option<String>,
}

impl EventParser {
    /// The events completed by `chunk`.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            events.extend(self.line(line));
        }
        events
    }

    /// The event left when the stream ends without a final blank line.
    pub fn finish(mut self) -> Option<Event> {
        let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
        if !rest.is_empty() {
            self.line(&rest);
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => match self.data.as_mut() {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.name = Some(value.to_owned()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let name = self.name.take();
        let data = self.data.take().filter(|d| !d.is_empty())?;
        Some(Event {
            name: name.unwrap_or_else(|| "message".to_owned()),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn all_events(stream: &str) -> Vec<Event> {
        let mut parser = EventParser::default();
        let mut events = parser.feed(stream.as_bytes());
        events.extend(parser.finish());
        events
    }

    fn message(data: &str) -> Event {
        Event {
            name: "message".into(),
            data: data.into(),
        }
    }

    #[test]
    fn skips_priming_events_and_comments() {
        let stream = "id: 1\ndata:\n\n: keep-alive\n\nevent: message\ndata: {\"a\":1}\n\n";
        assert_eq!(all_events(stream), [message("{\"a\":1}")]);
    }

    #[test]
    fn joins_multi_line_data_and_accepts_crlf_and_a_missing_final_blank_line() {
        let stream = "data: one\r\ndata: two\r\n\r\ndata: three";
        assert_eq!(all_events(stream), [message("one\ntwo"), message("three")]);
    }

    #[test]
    fn names_events_by_their_event_field() {
        let stream = "event: endpoint\ndata: /messages?session_id=1\n\n";
        assert_eq!(
            all_events(stream),
            [Event {
                name: "endpoint".into(),
                data: "/messages?session_id=1".into()
            }]
        );
    }

    #[test]
    fn gives_the_same_events_however_the_stream_is_cut() {
        let stream = "event: message\r\ndata: {\"text\":\"héllo\"}\r\n\r\ndata: x\n\n";
        let whole = all_events(stream);
        let bytes = stream.as_bytes();
        for cut in 1..bytes.len() {
            let mut parser = EventParser::default();
            let mut events = parser.feed(&bytes[..cut]);
            events.extend(parser.feed(&bytes[cut..]));
            events.extend(parser.finish());
            assert_eq!(events, whole, "cut at byte {cut}");
        }
    }
}
