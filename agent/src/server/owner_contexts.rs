//! The owner's context routes (`/v1/admin/contexts…`, `kura context`): the JSON-LD contexts
//! the server serves, bundled and added, and adding one. An added context is checked by
//! [`vc_schemas::JsonLd::prepare_context`], stored with a `context-added` history entry (on
//! disk before the answer) and served at once: no restart, nothing fetched.

use serde::Serialize;
use warp::http::StatusCode;

use super::problem::ApiError;
use super::{json_response, AppState};
use crate::history::{Actor, Event, EventKind, Outcome};
use crate::store::ContextRecord;
use vc_schemas::jsonld::{ContextInfo, PreparedContext};

type Reply = Result<warp::reply::Response, ApiError>;

/// `GET /v1/admin/contexts/{url}` and the answer to `PUT`: the context with its document.
#[derive(Serialize)]
struct ContextAnswer<'a> {
    #[serde(flatten)]
    info: &'a ContextInfo,
    /// Whether this request added it (`PUT` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    added: Option<bool>,
    /// The document, byte for byte as served.
    document: &'a str,
}

/// `GET /v1/admin/contexts`: every context served, bundled then added.
pub fn list(state: &AppState) -> Reply {
    json_response(StatusCode::OK, &state.jsonld.contexts())
}

/// `GET /v1/admin/contexts/{url}`.
pub fn show(state: &AppState, url: &str) -> Reply {
    let (info, document) = state
        .jsonld
        .context(url)
        .ok_or_else(|| ApiError::not_found(format!("kura serves no context {url}")))?;
    json_response(
        StatusCode::OK,
        &ContextAnswer {
            info: &info,
            added: None,
            document: &document,
        },
    )
}

/// `PUT /v1/admin/contexts/{url}`: the body is the context document (JSON, at most the body
/// limit). 201 when added, 200 when kura served this very document already (nothing stored).
pub async fn add(state: &AppState, url: &str, body: &[u8]) -> Reply {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the context document is not UTF-8"))?;
    let context = match state.jsonld.prepare_context(url, text).await {
        Ok(PreparedContext::New(context)) => context,
        Ok(PreparedContext::AlreadyServed(info)) => {
            return json_response(
                StatusCode::OK,
                &ContextAnswer {
                    info: &info,
                    added: Some(false),
                    document: text,
                },
            )
        }
        Err(error) => return Err(ApiError::unprocessable(error.to_string())),
    };
    let now = state.options.clock.now();
    let record = ContextRecord {
        url: context.url.clone(),
        sha256: context.sha256.clone(),
        document: context.text.clone(),
        added_at_ms: crate::token::unix_millis(now),
    };
    let event = context_event(now, &record);
    let store = &state.repository.store;
    let stored = store.add_context_lazy(&record, &event)?;
    store.durable().await?;
    let info = ContextInfo {
        url: record.url.clone(),
        sha256: record.sha256.clone(),
        origin: "added",
        source: None,
        file: None,
        bytes: record.document.len(),
    };
    state.jsonld.install_context(*context);
    json_response(
        if stored.is_some() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &ContextAnswer {
            info: &info,
            added: Some(stored.is_some()),
            document: &record.document,
        },
    )
}

/// The `context-added` history entry for `record`: its URL and SHA-256 as the reason.
pub fn context_event(now: std::time::SystemTime, record: &ContextRecord) -> Event {
    Event::new(now, Actor::Owner, EventKind::ContextAdded, Outcome::Success)
        .with_reason(format!("{} sha256:{}", record.url, record.sha256))
}

/// A JSON-LD processor serving the bundled contexts and every context in `store` (for
/// `kura serve` at start, and for the owner's commands that open the store directly). A stored
/// context that no longer loads (its hash does not match, or a newer kura bundles its URL) is
/// skipped, with a line on stderr: the bundled document wins.
pub fn jsonld_with_stored_contexts(store: &crate::Store) -> vc_schemas::JsonLd {
    let jsonld = vc_schemas::JsonLd::new();
    match store.contexts() {
        Ok(records) => {
            for record in records {
                if let Err(reason) = install_stored(&jsonld, &record) {
                    eprintln!(
                        "kura: the added context {} is not served: {reason}",
                        record.url
                    );
                }
            }
        }
        Err(error) => eprintln!("kura: the added contexts cannot be read: {error}"),
    }
    jsonld
}

fn install_stored(jsonld: &vc_schemas::JsonLd, record: &ContextRecord) -> Result<(), String> {
    if vc_schemas::jsonld::bundled::bundled(&record.url).is_some() {
        return Err("kura bundles this URL; the bundled document is served".into());
    }
    let context = vc_schemas::jsonld::AddedContext::from_stored(&record.url, &record.document)
        .map_err(|error| error.to_string())?;
    if context.sha256 != record.sha256 {
        return Err(format!(
            "its document hashes to {}, not to the pinned {}",
            context.sha256, record.sha256
        ));
    }
    jsonld.install_context(context);
    Ok(())
}
