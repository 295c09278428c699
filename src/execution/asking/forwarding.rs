//! Passing on what an upstream asks the person during a call (`elicitation/create`,
//! `sampling/createMessage`, `roots/list`), when their client said it takes it, and the answer
//! back. The person is told which upstream asks: its words are its own.

use rmcp::model::{ErrorCode, ErrorData};
use serde_json::{json, Map, Value};

use super::{Asking, Unanswered};
use crate::execution::Platform;
use crate::protocol::method::{ELICITATION_CREATE, ROOTS_LIST, SAMPLING_CREATE_MESSAGE};
use crate::quote::{cut, visible};
use crate::sandbox::asks::UpstreamQuestion;
use crate::upstream::protocol::QuestionAnswer;

/// Characters of an upstream's elicitation message shown to the person.
const MESSAGE_CHARS: usize = 2_000;

impl Asking<'_> {
    /// The person's answer to `question`, or the error the upstream gets, saying why not.
    pub(super) async fn forward<P: Platform>(
        &self,
        platform: &P,
        question: &UpstreamQuestion,
    ) -> QuestionAnswer {
        let UpstreamQuestion {
            upstream,
            method,
            params,
            ..
        } = question;
        let params = match params {
            Value::Object(params) => params.clone(),
            Value::Null => Map::new(),
            _ => {
                return refused(
                    ErrorCode::INVALID_PARAMS,
                    format!(
                        "{method} needs its params as an object; the runner did not pass it on"
                    ),
                )
            }
        };
        let asked = self
            .takes(method, &params)
            .then(|| marked(upstream, method, params));
        match self.ask_client(platform, method, asked).await {
            Ok(response) => read_response(&response),
            Err(unanswered @ Unanswered::NotAsked(_)) => refused(
                ErrorCode::METHOD_NOT_FOUND,
                format!("{method} cannot be answered: {unanswered}"),
            ),
            Err(unanswered) => refused(ErrorCode::INTERNAL_ERROR, unanswered.to_string()),
        }
    }

    /// Whether the client said it takes `method` with these `params`.
    fn takes(&self, method: &str, params: &Map<String, Value>) -> bool {
        match method {
            ELICITATION_CREATE => match params.get("mode").and_then(Value::as_str) {
                Some("url") => (self.client.elicitation.as_ref()).is_some_and(|e| e.url.is_some()),
                _ => self.answers_forms(),
            },
            SAMPLING_CREATE_MESSAGE => self.client.sampling.is_some(),
            ROOTS_LIST => self.client.roots.is_some(),
            _ => false,
        }
    }
}

/// `params` with the upstream named where the person reads them: an elicitation's message
/// starts and ends with who asks, is cut to [`MESSAGE_CHARS`], and shows what could hide
/// that: its invisible and reordering characters (a terminal's escapes and carriage returns
/// among them) are `\u` escapes, and a run of blank lines is one blank line.
pub(super) fn marked(upstream: &str, method: &str, mut params: Map<String, Value>) -> Value {
    if method == ELICITATION_CREATE {
        let message = params.get("message").and_then(Value::as_str);
        let message = cut(message.unwrap_or_default(), MESSAGE_CHARS).replace("\r\n", "\n");
        let message = visible(&without_blank_runs(&message));
        let marked =
            format!("The upstream {upstream} asks: {message}\n(Asked by the upstream {upstream}.)");
        params.insert("message".into(), json!(marked));
    }
    Value::Object(params)
}

/// `text` with each run of blank lines made one blank line.
fn without_blank_runs(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.split('\n') {
        let blank = line.trim().is_empty();
        if !(blank && kept.last().is_some_and(|last| last.trim().is_empty())) {
            kept.push(line);
        }
    }
    kept.join("\n")
}

/// The client's JSON-RPC `response`, as the upstream gets it.
fn read_response(response: &str) -> QuestionAnswer {
    let unreadable = || {
        refused(
            ErrorCode::INTERNAL_ERROR,
            "the client's answer was not a JSON-RPC response".into(),
        )
    };
    let Ok(mut response) = serde_json::from_str::<Value>(response) else {
        return unreadable();
    };
    if let Some(error) = response.get_mut("error").map(Value::take) {
        return serde_json::from_value(error).map_or_else(|_| unreadable(), QuestionAnswer::Error);
    }
    match response.get_mut("result").map(Value::take) {
        Some(result) => QuestionAnswer::Result(result),
        None => unreadable(),
    }
}

/// The error an upstream gets for a question its person could not answer.
fn refused(code: ErrorCode, message: String) -> QuestionAnswer {
    QuestionAnswer::Error(ErrorData::new(code, message, None))
}
