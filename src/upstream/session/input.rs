//! An upstream on the stateless protocol (2026-07-28) that needs something from the person to
//! finish a request: it answers with an `input_required` result (SEP-2322) listing its
//! questions (`elicitation/create`, `sampling/createMessage`, `roots/list`) and, perhaps, a
//! `requestState`. Each question goes to the request's [`Asker`], like a question asked during
//! a call; the request is then sent again, with a new id, carrying the answers as
//! `inputResponses` and the `requestState` exactly as given (none when none was given).

use serde_json::{Map, Value};

use super::Asker;
use crate::upstream::client::UpstreamError;

/// How many times one request may come back asking for input before the runner stops
/// answering.
pub(super) const MAX_INPUT_ROUNDS: u32 = 10;

/// The most questions one `input_required` result may ask.
const MAX_INPUT_REQUESTS: usize = 20;

/// What an `input_required` result asks.
#[derive(Debug, PartialEq)]
pub(super) struct InputRequired {
    /// Each question: its key, method and params.
    requests: Vec<(String, String, Value)>,
    /// The state to send back, untouched.
    state: Option<Value>,
}

impl InputRequired {
    /// What `result` asks, if it is an `input_required` result; a result without `resultType`
    /// is complete. An `input_required` result that cannot be read is an error.
    pub(super) fn of(result: &Value) -> Option<Result<Self, UpstreamError>> {
        if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
            return None;
        }
        let malformed = |detail: &str| UpstreamError::Malformed {
            detail: format!("its input_required result {detail}"),
        };
        let Some(asked) = result.get("inputRequests").and_then(Value::as_object) else {
            return Some(Err(malformed("has no inputRequests object")));
        };
        if asked.is_empty() || asked.len() > MAX_INPUT_REQUESTS {
            let detail = format!("asks {} questions (1 to {MAX_INPUT_REQUESTS})", asked.len());
            return Some(Err(malformed(&detail)));
        }
        let mut requests = Vec::with_capacity(asked.len());
        for (key, request) in asked {
            let Some(method) = request.get("method").and_then(Value::as_str) else {
                return Some(Err(malformed(&format!(
                    "has a question `{key}` without a method"
                ))));
            };
            let params = request.get("params").cloned().unwrap_or(Value::Null);
            requests.push((key.clone(), method.to_owned(), params));
        }
        let state = result.get("requestState").cloned();
        Some(Ok(Self { requests, state }))
    }

    /// `params` for the request's next round: the answers `asker` gives, and the state. A
    /// question that cannot be answered fails the request, saying why.
    pub(super) async fn answered(
        self,
        asker: Option<&dyn Asker>,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        let mut responses = Map::new();
        for (key, method, question) in self.requests {
            let unanswered = |reason: String| UpstreamError::Unanswered {
                method: method.clone(),
                reason,
            };
            let Some(asker) = asker else {
                return Err(unanswered("no person is waiting on this request".into()));
            };
            let answer = asker.ask(&method, question).await;
            responses.insert(
                key,
                answer.map_err(|error| unanswered(error.message.into()))?,
            );
        }
        let mut params = match params {
            Value::Object(params) => params,
            _ => Map::new(),
        };
        params.insert("inputResponses".into(), Value::Object(responses));
        match self.state {
            Some(state) => params.insert("requestState".into(), state),
            None => params.remove("requestState"),
        };
        Ok(Value::Object(params))
    }
}

#[cfg(test)]
mod tests;
