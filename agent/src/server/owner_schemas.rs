//! The schema registry in the server (DESIGN P7): loaded from the store at start
//! ([`AppState::load_schemas`]), read by ST82, and replaced after the owner adds a schema
//! through `POST /v1/admin/schemas`, so that the new schema is effective without a restart.
//!
//! Routes (behind the admin credential, like every `/v1/admin/…` route):
//! - `GET /v1/admin/schemas`: every schema, `{id, sha256, kind, builtin}`.
//! - `GET /v1/admin/schemas/{id}`: one schema's document as added.
//! - `POST /v1/admin/schemas`: the body is the schema document (JSON Schema 2020-12 with an
//!   `$id`, or a JsonSchemaCredential); 201 with `{id, sha256, kind, …, added: true}`, or 200
//!   with `added: false` for a document already there. SHA-256 is over the body's bytes.

use std::sync::Arc;

use vc_schemas::SchemaRegistry;
use warp::http::{Method, StatusCode};

use super::problem::ApiError;
use super::{json_response, AppState};

type Reply = Result<warp::reply::Response, ApiError>;

impl AppState {
    /// The registry, loaded from the store on first use.
    pub fn schema_registry(&self) -> Result<Arc<SchemaRegistry>, ApiError> {
        if let Some(registry) = self
            .schemas
            .read()
            .map_err(|_| ApiError::internal("lock poisoned"))?
            .as_ref()
        {
            return Ok(registry.clone());
        }
        self.load_schemas()
    }

    /// (Re)loads the registry from the store: at start, and after a schema was added.
    pub fn load_schemas(&self) -> Result<Arc<SchemaRegistry>, ApiError> {
        let registry = Arc::new(crate::schemas::registry(&self.repository.store)?);
        *self
            .schemas
            .write()
            .map_err(|_| ApiError::internal("lock poisoned"))? = Some(registry.clone());
        Ok(registry)
    }
}

/// `/v1/admin/schemas…`, after the admin credential was checked.
pub(super) async fn route(state: &AppState, method: &Method, rest: &[&str], body: &[u8]) -> Reply {
    match (method, rest) {
        (&Method::GET, []) => {
            let registry = state.schema_registry()?;
            json_response(StatusCode::OK, &registry.list())
        }
        (&Method::GET, [id]) => {
            let registry = state.schema_registry()?;
            let (_, document) = registry
                .get(id)
                .ok_or_else(|| ApiError::not_found(format!("no schema {id} in the registry")))?;
            let value: serde_json::Value = serde_json::from_str(document)
                .map_err(|_| ApiError::internal("a stored schema is not JSON"))?;
            json_response(StatusCode::OK, &value)
        }
        (&Method::POST, []) => add(state, body).await,
        _ => Err(ApiError::not_found("no such owner route")),
    }
}

async fn add(state: &AppState, body: &[u8]) -> Reply {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the schema document is not UTF-8"))?;
    let store = &state.repository.store;
    let added = crate::schemas::add(store, text, &state.resolver, state.options.clock.now())
        .await
        .map_err(|error| match error {
            crate::Error::InvalidInput(detail) => ApiError::unprocessable(detail),
            other => ApiError::from(other),
        })?;
    store.durable().await?;
    state.load_schemas()?;
    let status = if added.added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, &added)
}
