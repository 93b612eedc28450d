//! The `card_keys` tree: card presentation keys (patent ST42–48).
//!
//! The card generates a presentation key per session; the repository stores its public key and
//! publishes it in the holder's DID document as a verification method, so that past
//! presentations keep verifying. The owner can retire a key: it stays recorded, but is no longer
//! published and no longer verifies (DESIGN, roles table).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{check_name, codec, storage, Store};
use crate::error::{Error, Result};
use crate::token::unix_millis;

const TREE: &str = "card_keys";

/// Whether a card key is published in the DID document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CardKeyStatus {
    /// Listed in the DID document; presentations signed with it verify.
    Published,
    /// Withdrawn by the owner; no longer listed, no longer verifies.
    Retired {
        /// When it was retired (Unix milliseconds).
        at_ms: u64,
    },
}

/// A card presentation key's public part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardKeyRecord {
    /// The verification method's DID URL, e.g. `did:web:example.com#card-1` (ST47).
    pub key_id: String,
    /// `Ed25519` or `P-256`.
    pub algorithm: String,
    /// The public key as a Multikey `publicKeyMultibase` value.
    pub public_key_multibase: String,
    /// When the repository stored it (Unix milliseconds).
    pub created_at_ms: u64,
    /// Published or retired.
    pub status: CardKeyStatus,
}

impl CardKeyRecord {
    /// A newly published key.
    pub fn published(
        key_id: impl Into<String>,
        algorithm: impl Into<String>,
        public_key_multibase: impl Into<String>,
        now: SystemTime,
    ) -> CardKeyRecord {
        CardKeyRecord {
            key_id: key_id.into(),
            algorithm: algorithm.into(),
            public_key_multibase: public_key_multibase.into(),
            created_at_ms: unix_millis(now),
            status: CardKeyStatus::Published,
        }
    }
}

impl Store {
    /// Stores a new card key and flushes: the key is on disk before the terminal learns its id
    /// (ST46 before ST47), so a presentation never names a key the repository could forget.
    pub fn put_card_key(&self, record: &CardKeyRecord) -> Result<()> {
        self.put_card_key_lazy(record)?;
        self.flush()
    }

    /// Stores a new card key without waiting for the disk. The session machine uses this: the
    /// first thing signed with a session's key leaves only at ST64, after the read's history
    /// entry was flushed (ST63), and that flush carries the key with it (sled persists in
    /// order), so no presentation can name a key the repository could forget.
    pub fn put_card_key_lazy(&self, record: &CardKeyRecord) -> Result<()> {
        check_name("card key id", &record.key_id)?;
        let encoded = codec::encode(TREE, record)?;
        let previous = self
            .inner
            .card_keys
            .compare_and_swap(record.key_id.as_bytes(), None::<&[u8]>, Some(encoded))
            .map_err(storage)?;
        if previous.is_err() {
            return Err(Error::AlreadyExists {
                kind: "card key",
                id: record.key_id.clone(),
            });
        }
        Ok(())
    }

    /// The card key with this id, if any.
    pub fn get_card_key(&self, key_id: &str) -> Result<Option<CardKeyRecord>> {
        self.inner
            .card_keys
            .get(key_id.as_bytes())
            .map_err(storage)?
            .map(|bytes| codec::decode(TREE, key_id.as_bytes(), &bytes))
            .transpose()
    }

    /// Every card key, published and retired, in id order.
    pub fn card_keys(&self) -> Result<Vec<CardKeyRecord>> {
        self.inner
            .card_keys
            .iter()
            .map(|item| {
                let (key, bytes) = item.map_err(storage)?;
                codec::decode(TREE, &key, &bytes)
            })
            .collect()
    }

    /// Retires a card key and flushes. Retiring a retired key keeps its first retirement time.
    pub fn retire_card_key(&self, key_id: &str, now: SystemTime) -> Result<CardKeyRecord> {
        let tree = &self.inner.card_keys;
        loop {
            let Some(current) = tree.get(key_id.as_bytes()).map_err(storage)? else {
                return Err(Error::NotFound {
                    kind: "card key",
                    id: key_id.to_owned(),
                });
            };
            let mut record: CardKeyRecord = codec::decode(TREE, key_id.as_bytes(), &current)?;
            if record.status == CardKeyStatus::Published {
                record.status = CardKeyStatus::Retired {
                    at_ms: unix_millis(now),
                };
            }
            let encoded = codec::encode(TREE, &record)?;
            let swapped = tree
                .compare_and_swap(key_id.as_bytes(), Some(current), Some(encoded))
                .map_err(storage)?;
            // Lost a race with another writer: read again and retry.
            if swapped.is_ok() {
                self.flush()?;
                return Ok(record);
            }
        }
    }
}
