//! Reading a response body within a size limit, and the wording of transport failures and
//! redirects: shared by the token endpoint exchange and the API transport.

use reqwest::header::{self, HeaderMap};
use url::Url;

/// What to do when a body is larger than its limit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Overflow {
    /// Stop reading and fail (success bodies: a cut JSON document is useless).
    Fail,
    /// Keep the first bytes and drop the rest (error bodies).
    Truncate,
}

/// Why a body could not be read.
pub(super) enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a body, refusing (or cutting) it at `limit` bytes: first by `Content-Length`, then by
/// counting while streaming, since the length header may be absent (chunked) or wrong.
pub(super) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    overflow: Overflow,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length();
    if overflow == Overflow::Fail && announced.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let initial = announced
        .map_or(0, |len| len.min(limit as u64) as usize)
        .min(1 << 20);
    let mut body = Vec::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            if overflow == Overflow::Fail {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk[..limit - body.len()]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error as text, without the URL (it may carry a query) but with its causes, which
/// say what actually failed ("connection refused", "dns error", …).
pub(super) fn transport_detail(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Where a redirect points, for messages: the host and port of its `Location` only (the path
/// and query may carry anything), or a note when there is none.
pub(super) fn location_host(headers: &HeaderMap) -> String {
    let Some(location) = headers.get(header::LOCATION) else {
        return "no Location header".to_owned();
    };
    let text = String::from_utf8_lossy(location.as_bytes());
    match Url::parse(text.trim()) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => "a Location without a host".to_owned(),
        },
        Err(_) => "a relative Location".to_owned(),
    }
}
