//! The `contexts` tree: JSON-LD context documents the owner added (`kura context add URL
//! FILE`), each pinned by the SHA-256 of its bytes. `kura serve` loads them into its JSON-LD
//! loader at start; nothing is fetched. An added context is never changed or removed here: a
//! credential verified against it keeps verifying.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional as _};

use super::{codec, storage, transaction_error, Store};
use crate::error::{Error, Result};
use crate::history::{Event, HistoryEntry};

const TREE: &str = "contexts";

/// A context document the owner added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRecord {
    /// The URL documents name it by.
    pub url: String,
    /// SHA-256 of `document`, hex.
    pub sha256: String,
    /// The document, byte for byte as the owner gave it.
    pub document: String,
    /// When the owner added it (Unix milliseconds).
    pub added_at_ms: u64,
}

impl Store {
    /// Stores `record` and appends `event`, in one transaction; on disk with the next
    /// [`Store::durable`]. A URL stored already is refused ([`Error::AlreadyExists`]) unless it holds
    /// the same bytes: then `Ok(None)` and nothing is written.
    pub fn add_context_lazy(
        &self,
        record: &ContextRecord,
        event: &Event,
    ) -> Result<Option<HistoryEntry>> {
        let encoded = codec::encode(TREE, record)?;
        let inner = &self.inner;
        let key = record.url.as_bytes();
        (
            &inner.contexts,
            &inner.history,
            &inner.meta,
            &inner.history_checkpoints,
        )
            .transaction(|(tree, history, meta, checkpoints)| {
                if let Some(existing) = tree.get(key)? {
                    let existing: ContextRecord = codec::decode(TREE, key, &existing)
                        .map_err(ConflictableTransactionError::Abort)?;
                    if existing.sha256 == record.sha256 {
                        return Ok(None);
                    }
                    return Err(ConflictableTransactionError::Abort(Error::AlreadyExists {
                        kind: "context (with other content; an added context cannot be changed)",
                        id: record.url.clone(),
                    }));
                }
                tree.insert(key, encoded.clone())?;
                self.append_in(history, meta, checkpoints, event).map(Some)
            })
            .map_err(transaction_error)
    }

    /// The context added for `url`.
    pub fn context(&self, url: &str) -> Result<Option<ContextRecord>> {
        self.inner
            .contexts
            .get(url.as_bytes())
            .map_err(storage)?
            .map(|bytes| codec::decode(TREE, url.as_bytes(), &bytes))
            .transpose()
    }

    /// Every added context, in URL order.
    pub fn contexts(&self) -> Result<Vec<ContextRecord>> {
        self.inner
            .contexts
            .iter()
            .map(|item| {
                let (key, bytes) = item.map_err(storage)?;
                codec::decode(TREE, &key, &bytes)
            })
            .collect()
    }
}
