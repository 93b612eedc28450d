//! The `schemas` tree: the schemas the owner added to the registry (DESIGN P7), each the
//! document as added with its SHA-256, and for a JsonSchemaCredential the key that verified
//! its proof then. kura's own schemas are built in and never stored. Adding is an owner
//! action, recorded in the history in the same transaction.

use serde::{Deserialize, Serialize};
use sled::transaction::Transactional as _;
use vc_schemas::registry::{PinnedKey, SchemaKind};

use super::{check_name, codec, storage, transaction_error, Store};
use crate::error::{Error, Result};
use crate::history::{Event, HistoryEntry};

const TREE: &str = "schemas";

/// A schema the owner added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaRecord {
    /// The schema id (`$id`, or the JsonSchemaCredential's `id`).
    pub id: String,
    /// SHA-256 of `document`, lower-case hex.
    pub sha256: String,
    pub kind: SchemaKind,
    /// The document as added.
    pub document: String,
    /// For a JsonSchemaCredential: the key that verified its proof when it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<PinnedKey>,
    /// When the owner added it (Unix milliseconds).
    pub added_at_ms: u64,
}

impl Store {
    /// Stores `record` and appends `event`, in one transaction; on disk with the next
    /// [`Store::durable`]. An id already stored with another SHA-256 is refused; the same
    /// document again is `Ok(None)` (nothing written).
    pub fn add_schema_lazy(
        &self,
        record: &SchemaRecord,
        event: &Event,
    ) -> Result<Option<HistoryEntry>> {
        check_name("schema id", &record.id)?;
        if let Some(existing) = self.schema(&record.id)? {
            if existing.sha256 == record.sha256 {
                return Ok(None);
            }
            return Err(Error::InvalidInput(format!(
                "{} is already in the registry with another document (SHA-256 {})",
                record.id, existing.sha256
            )));
        }
        let encoded = codec::encode(TREE, record)?;
        let inner = &self.inner;
        let entry = (
            &inner.schemas,
            &inner.history,
            &inner.meta,
            &inner.history_checkpoints,
        )
            .transaction(|(tree, history, meta, checkpoints)| {
                tree.insert(record.id.as_bytes(), encoded.clone())?;
                self.append_in(history, meta, checkpoints, event)
            })
            .map_err(transaction_error)?;
        Ok(Some(entry))
    }

    /// The schema `id`, if the owner added it.
    pub fn schema(&self, id: &str) -> Result<Option<SchemaRecord>> {
        self.inner
            .schemas
            .get(id.as_bytes())
            .map_err(storage)?
            .map(|bytes| codec::decode(TREE, id.as_bytes(), &bytes))
            .transpose()
    }

    /// Every schema the owner added, in id order.
    pub fn schemas(&self) -> Result<Vec<SchemaRecord>> {
        self.inner
            .schemas
            .iter()
            .map(|item| {
                let (key, bytes) = item.map_err(storage)?;
                codec::decode(TREE, &key, &bytes)
            })
            .collect()
    }
}
