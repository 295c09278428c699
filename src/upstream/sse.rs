//! Server-Sent Events, read incrementally as the bytes of a stream arrive.
//!
//! Spec: <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>.
//! Streamable HTTP servers answer a POST with a stream of `message` events; the 2024-11-05
//! HTTP+SSE transport also sends one `endpoint` event. Events with empty data (servers send a
//! "priming" event holding only an `id:`) are skipped.

use std::borrow::Cow;

use memchr::memchr;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; `message` when absent.
    pub name: String,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// An event-stream parser fed with chunks as they arrive, cut anywhere (even inside a UTF-8
/// character or between `\r` and `\n`). Each byte is looked at a bounded number of times, so a
/// 10 MB event costs the same whether it arrives in one chunk or in thousands.
#[derive(Debug)]
pub struct EventParser {
    /// Bytes of a line not yet ended.
    pending: Vec<u8>,
    /// How much of `pending` is known to hold no line break: the next search starts there.
    searched: usize,
    /// The event being assembled.
    name: Option<String>,
    data: Option<String>,
    /// Bytes of the event being assembled, its lines so far.
    event_bytes: usize,
    /// The most bytes one event may take, unfinished line included.
    max_event_bytes: usize,
    /// The last `id:` seen: where a reconnection resumes (`Last-Event-ID`).
    last_event_id: Option<String>,
    /// The last `retry:` seen, in milliseconds: how long to wait before reconnecting.
    retry_ms: Option<u32>,
}

/// An event larger than the parser's limit: a peer that sends one is not read further, so it
/// cannot make the runner hold more than the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event of the stream passed {limit} bytes (reading stopped at {bytes})")]
pub struct EventTooLarge {
    /// The event's bytes when reading stopped.
    pub bytes: usize,
    /// The limit it passed.
    pub limit: usize,
}

impl Default for EventParser {
    fn default() -> Self {
        Self::with_event_limit(usize::MAX)
    }
}

impl EventParser {
    /// A parser that refuses events over `max_event_bytes`: for a stream that stays open and
    /// is not otherwise bounded (the 2024-11-05 transport's GET stream).
    pub fn with_event_limit(max_event_bytes: usize) -> Self {
        Self {
            pending: Vec::new(),
            searched: 0,
            name: None,
            data: None,
            event_bytes: 0,
            max_event_bytes,
            last_event_id: None,
            retry_ms: None,
        }
    }

    /// The last event id the stream set, if any (an empty `id:` clears it).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The reconnection time the stream set, in milliseconds.
    pub fn retry_ms(&self) -> Option<u32> {
        self.retry_ms
    }

    /// The events completed by `chunk`, or the limit an event passed (the parser is then of no
    /// further use).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, EventTooLarge> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(offset) = memchr(b'\n', &pending[self.searched..]) {
            let end = self.searched + offset;
            self.event_bytes = self.event_bytes.saturating_add(end + 1 - start);
            if start == 0 && end >= LARGE_LINE_BYTES && self.data.is_none() {
                if let Some(at) = data_value_start(&pending[..end]) {
                    let rest = pending.split_off(end + 1);
                    self.data = Some(into_value(pending, at));
                    pending = rest;
                    self.searched = 0;
                    continue;
                }
            }
            let line = &pending[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            events.extend(self.line(&text_of(line)));
            start = end + 1;
            self.searched = start;
        }
        // Only the unended line stays, so this moves at most the bytes of this chunk.
        pending.drain(..start);
        self.searched = pending.len();
        self.pending = pending;
        let bytes = self.event_bytes.saturating_add(self.pending.len());
        if bytes > self.max_event_bytes {
            return Err(EventTooLarge {
                bytes,
                limit: self.max_event_bytes,
            });
        }
        Ok(events)
    }

    /// The event left when the stream ends without a final blank line.
    pub fn finish(mut self) -> Option<Event> {
        let rest = text_of(&std::mem::take(&mut self.pending)).into_owned();
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
            // The spec ignores an id holding NUL, and a retry that is not all digits.
            "id" if !value.contains('\0') => {
                self.last_event_id = Some(value.to_owned()).filter(|id| !id.is_empty());
            }
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        self.event_bytes = 0;
        let name = self.name.take();
        let data = self.data.take().filter(|d| !d.is_empty())?;
        Some(Event {
            name: name.unwrap_or_else(|| "message".to_owned()),
            data,
        })
    }
}

/// A line from this many bytes on that starts the event's data becomes the data in place: its
/// buffer is kept rather than copied, so a 10 MB result costs one buffer, not two.
const LARGE_LINE_BYTES: usize = 64 * 1024;

/// Where the value of `line` starts when it is a `data` field (after `data:` and one space).
fn data_value_start(line: &[u8]) -> Option<usize> {
    let value = line.strip_prefix(b"data:")?;
    Some(line.len() - value.strip_prefix(b" ").unwrap_or(value).len())
}

/// `line` (ended by `\n`, perhaps `\r\n`), a `data` field whose value starts at `at`, as the
/// value's text, in the line's own buffer.
fn into_value(mut line: Vec<u8>, at: usize) -> String {
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line.drain(..at);
    match String::from_utf8(line) {
        Ok(text) => text,
        Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
    }
}

/// `line` as text, invalid UTF-8 replaced. Valid text, the usual case, is checked by
/// `str::from_utf8`, which reads ASCII a word at a time; `from_utf8_lossy` reads a byte at a
/// time, which costs a 10 MB event several milliseconds.
fn text_of(line: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(line) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(line),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn all_events(stream: &str) -> Vec<Event> {
        let mut parser = EventParser::default();
        let mut events = parser.feed(stream.as_bytes()).unwrap();
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
    fn invalid_utf8_becomes_the_replacement_character_and_valid_text_is_kept_as_it_is() {
        let mut parser = EventParser::default();
        let events = parser.feed(b"data: caf\xc3\xa9 \xff\xfe end\n\n").unwrap();
        assert_eq!(events, [message("café \u{fffd}\u{fffd} end")]);
        parser.feed(b"data: tail \xe2\x82").unwrap();
        assert_eq!(parser.finish(), Some(message("tail \u{fffd}")));
    }

    #[test]
    fn skips_priming_events_and_comments() {
        let stream = "id: 1\ndata:\n\n: keep-alive\n\nevent: message\ndata: {\"a\":1}\n\n";
        assert_eq!(all_events(stream), [message("{\"a\":1}")]);
    }

    #[test]
    fn remembers_the_last_event_id_and_the_retry_time_across_events() {
        let mut parser = EventParser::default();
        parser.feed(b"id: e-1\nretry: 500\ndata:\n\n").unwrap();
        assert_eq!(
            (parser.last_event_id(), parser.retry_ms()),
            (Some("e-1"), Some(500))
        );
        parser.feed(b"data: x\n\nretry: soon\n\n").unwrap();
        assert_eq!(
            (parser.last_event_id(), parser.retry_ms()),
            (Some("e-1"), Some(500))
        );
        parser.feed(b"id:\n\n").unwrap();
        assert_eq!(parser.last_event_id(), None);
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
            let mut events = parser.feed(&bytes[..cut]).unwrap();
            events.extend(parser.feed(&bytes[cut..]).unwrap());
            events.extend(parser.finish());
            assert_eq!(events, whole, "cut at byte {cut}");
        }
    }

    #[test]
    fn a_large_data_line_is_read_whole_however_it_ends_and_whatever_follows_it() {
        let large = format!("{}é{}", "x".repeat(LARGE_LINE_BYTES), "y".repeat(10));
        for (line, value) in [
            (format!("data: {large}\r\n"), large.clone()),
            (format!("data:{large}\n"), large.clone()),
            (format!("data:  {large}\n"), format!(" {large}")),
            (format!("data: {large}\n").replace('é', "\u{fffd}"), {
                large.replace('é', "\u{fffd}")
            }),
        ] {
            let stream = format!("event: message\n{line}data: more\n\nid: 7\ndata: next\n\n");
            let expected = vec![message(&format!("{value}\nmore")), message("next")];
            assert_eq!(all_events(&stream), expected);
            let bytes = stream.as_bytes();
            for cut in [1, 15, 16, 20, bytes.len() - 20, bytes.len() - 1] {
                let mut parser = EventParser::default();
                let mut events = parser.feed(&bytes[..cut]).unwrap();
                events.extend(parser.feed(&bytes[cut..]).unwrap());
                events.extend(parser.finish());
                assert_eq!(events, expected, "cut at byte {cut}");
            }
        }
        // Invalid UTF-8 in a large line is replaced, as in any other line.
        let mut invalid = b"data: ".to_vec();
        invalid.extend(std::iter::repeat_n(b'x', LARGE_LINE_BYTES));
        invalid.extend(b"\xff\n\n");
        let mut parser = EventParser::default();
        let events = parser.feed(&invalid).unwrap();
        assert_eq!(events.len(), 1);
        assert!(
            events[0].data.ends_with("x\u{fffd}"),
            "{}",
            &events[0].data[LARGE_LINE_BYTES - 5..]
        );
    }

    #[test]
    fn a_large_event_in_small_chunks_is_read_in_linear_time() {
        // 16 MiB in 1 KiB chunks: a parser that searched its whole pending input on each chunk
        // would scan about 128 GiB here and never finish in time.
        let payload = "x".repeat(16 << 20);
        let stream = format!("data: {payload}\n\ndata: after\n\n");
        #[cfg(not(target_arch = "wasm32"))]
        let started = std::time::Instant::now();
        let mut parser = EventParser::default();
        let mut events = Vec::new();
        for chunk in stream.as_bytes().chunks(1024) {
            events.extend(parser.feed(chunk).unwrap());
        }
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data.len(), payload.len());
        assert_eq!(events[1], message("after"));
        // Time cannot be read on wasm32-unknown-unknown; there a quadratic parser just hangs.
        #[cfg(not(target_arch = "wasm32"))]
        {
            let elapsed = started.elapsed();
            assert!(
                elapsed < std::time::Duration::from_secs(10),
                "16 MiB took {elapsed:?}"
            );
        }
    }

    #[test]
    fn many_small_events_in_one_chunk_are_all_read() {
        let stream = "data: e\n\n".repeat(50_000);
        let mut parser = EventParser::default();
        let events = parser.feed(stream.as_bytes()).unwrap();
        assert_eq!(events.len(), 50_000);
        assert!(events.iter().all(|e| *e == message("e")));
    }

    #[test]
    fn an_event_over_the_limit_is_refused_before_it_is_complete() {
        let mut parser = EventParser::with_event_limit(100);
        assert_eq!(parser.feed(b"data: small\n\n").unwrap(), [message("small")]);
        assert_eq!(parser.feed(&[b'd'; 60]).unwrap(), []);
        assert_eq!(
            parser.feed(&[b'd'; 60]),
            Err(EventTooLarge {
                bytes: 120,
                limit: 100
            }),
            "an unended line counts"
        );
        let mut parser = EventParser::with_event_limit(100);
        let lines = "data: 0123456789\n".repeat(10);
        assert_eq!(
            parser.feed(lines.as_bytes()),
            Err(EventTooLarge {
                bytes: 170,
                limit: 100
            }),
            "the lines of one event add up"
        );
    }
}
