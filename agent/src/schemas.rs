//! The repository's schema registry (DESIGN P7), the I/O edge around
//! [`vc_schemas::SchemaRegistry`]: the owner's schemas come from the store's `schemas` tree,
//! are added through [`add`] (by `kura schema add` or the owner's route
//! `POST /v1/admin/schemas`), and are recorded in the history.
//!
//! A JsonSchemaCredential's proof is verified when it is added, with the resolver the caller
//! gives (the general one: did:key and did:jwk offline, did:web through did-methods), and the
//! key that verified it is stored with it. At every use the proof is verified again against
//! that key, offline: nothing is resolved or fetched when a credential is written or verified.

use std::time::SystemTime;

use vc_schemas::registry::SchemaDocument;
use vc_schemas::{KeyResolver, SchemaRegistry};

use crate::error::{Error, Result};
use crate::history::{Actor, Event, EventKind, Outcome};
use crate::store::{SchemaRecord, Store};
use crate::token::unix_millis;

/// kura's schemas plus every schema in `store`. Each stored document is read again and its
/// SHA-256 checked against the one recorded when it was added.
pub fn registry(store: &Store) -> Result<SchemaRegistry> {
    let mut registry = SchemaRegistry::kura();
    for record in store.schemas()? {
        let corrupt = |reason: String| Error::Corrupt {
            tree: "schemas",
            key: record.id.clone(),
            reason,
        };
        let document =
            SchemaDocument::parse(&record.document).map_err(|e| corrupt(e.to_string()))?;
        if document.info.sha256 != record.sha256 || document.info.id != record.id {
            return Err(corrupt(
                "the document's SHA-256 or id differs from the one recorded when it was added"
                    .into(),
            ));
        }
        registry
            .insert(document, record.pinned.clone())
            .map_err(|e| corrupt(e.to_string()))?;
    }
    Ok(registry)
}

/// What [`add`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Added {
    #[serde(flatten)]
    pub record: SchemaRecord,
    /// `false`: the same document was in the registry already (nothing written).
    pub added: bool,
}

/// Checks `text` as a schema document (JSON Schema 2020-12 with an `$id`, or a
/// JsonSchemaCredential whose proof verifies with `resolver`), refuses an id of kura's own or
/// one taken by another document, and stores it with a `schema-added` history entry (on disk
/// with the next [`Store::durable`] or [`Store::flush`]).
pub async fn add(
    store: &Store,
    text: &str,
    resolver: &dyn KeyResolver,
    now: SystemTime,
) -> Result<Added> {
    let refused = |error: vc_schemas::Error| Error::InvalidInput(error.to_string());
    let document = SchemaDocument::parse(text).map_err(refused)?;
    let pinned = document
        .verify_proof(resolver, vc_schemas::shared_jsonld(), now.into())
        .await
        .map_err(refused)?;
    // The registry as it is refuses kura's ids, another document under a taken id, and a
    // schema that does not compile.
    registry(store)?
        .insert(document.clone(), pinned.clone())
        .map_err(refused)?;
    let record = SchemaRecord {
        id: document.info.id.clone(),
        sha256: document.info.sha256.clone(),
        kind: document.info.kind,
        document: document.text,
        pinned,
        added_at_ms: unix_millis(now),
    };
    let event = Event::new(now, Actor::Owner, EventKind::SchemaAdded, Outcome::Success)
        .with_reason(format!("{} sha256:{}", record.id, record.sha256));
    let added = store.add_schema_lazy(&record, &event)?.is_some();
    let record = match added {
        true => record,
        false => store.schema(&record.id)?.unwrap_or(record),
    };
    Ok(Added { record, added })
}
