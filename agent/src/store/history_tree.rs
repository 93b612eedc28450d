//! The `history` tree: appending, listing and verifying the hash-chained log.
//!
//! Every append reads the head from `meta` and writes the entry and the new head in one sled
//! transaction, so concurrent appends are serialised and the head always names the newest
//! entry. Operations that must be logged atomically with their effect (a credential write or
//! delete) call [`append_in`] inside their own transaction.

use sled::transaction::{ConflictableTransactionError, Transactional, TransactionalTree};

use super::{storage, transaction_error, Store};
use crate::error::{Error, Result};
use crate::history::{
    chain_hash, decode_stored, encode_entry, stored_value, ChainSummary, ChainVerifier, Event,
    Head, HistoryEntry, GENESIS_HASH,
};

/// The `meta` key of the chain's head.
pub(super) const HEAD_KEY: &[u8] = b"history_head";

/// Appends `event` inside a transaction over the `history` and `meta` trees.
pub(super) fn append_in(
    history: &TransactionalTree,
    meta: &TransactionalTree,
    event: &Event,
) -> std::result::Result<HistoryEntry, ConflictableTransactionError<Error>> {
    let abort = ConflictableTransactionError::Abort;
    let head = match meta.get(HEAD_KEY)? {
        Some(bytes) => Some(Head::decode(&bytes).map_err(abort)?),
        None => None,
    };
    let (seq, previous) = match head {
        Some(head) => (head.seq + 1, head.hash),
        None => (1, GENESIS_HASH),
    };
    let key = seq.to_be_bytes();
    // A head that lags behind the log (a tampered `meta`) must not make us overwrite an entry.
    if history.get(key)?.is_some() {
        return Err(abort(Error::HistoryTampered {
            seq,
            reason: "an entry already exists after the head".into(),
        }));
    }
    let canonical = encode_entry(seq, event).map_err(abort)?;
    let hash = chain_hash(&previous, &canonical);
    history.insert(&key[..], stored_value(&canonical, &hash))?;
    meta.insert(HEAD_KEY, Head { seq, hash }.encode().to_vec())?;
    Ok(HistoryEntry {
        seq,
        event: event.clone(),
        hash,
    })
}

impl Store {
    /// Appends an event to the history and flushes before returning: a read is logged on disk
    /// before its presentation is released (patent ST63 before ST64).
    pub fn append_history(&self, event: &Event) -> Result<HistoryEntry> {
        let inner = &self.inner;
        let entry = (&inner.history, &inner.meta)
            .transaction(|(history, meta)| append_in(history, meta, event))
            .map_err(transaction_error)?;
        self.flush()?;
        Ok(entry)
    }

    /// Appends an event without waiting for the disk: for bookkeeping entries (a session opened,
    /// a card key published, a session closed) that no answer depends on. The next flushed
    /// append (every read, write and refusal) or sled's own periodic flush puts it on disk;
    /// the chain stays whole either way, because sled keeps the log's order.
    pub fn append_history_lazy(&self, event: &Event) -> Result<HistoryEntry> {
        let inner = &self.inner;
        (&inner.history, &inner.meta)
            .transaction(|(history, meta)| append_in(history, meta, event))
            .map_err(transaction_error)
    }

    /// The chain's head (`None` while the log is empty).
    pub fn history_head(&self) -> Result<Option<Head>> {
        self.inner
            .meta
            .get(HEAD_KEY)
            .map_err(storage)?
            .map(|bytes| Head::decode(&bytes))
            .transpose()
    }

    /// Up to `limit` entries from seq `from` on, decoded but not verified (see
    /// [`Store::verify_chain`]). A record that does not decode is an error.
    pub fn history(&self, from: u64, limit: usize) -> Result<Vec<HistoryEntry>> {
        self.inner
            .history
            .range(from.to_be_bytes()..)
            .take(limit)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                decode_stored(&key, &value)
            })
            .collect()
    }

    /// How many entries the log holds.
    pub fn history_len(&self) -> usize {
        self.inner.history.len()
    }

    /// Checks the whole chain: every entry's hash, the seq sequence and the head. The first
    /// altered, removed, reordered or inserted entry is reported as
    /// [`Error::HistoryTampered`] with its seq.
    pub fn verify_chain(&self) -> Result<ChainSummary> {
        // Walk up to the head read first, so that appends racing with the walk are neither
        // reported as tampering nor silently accepted as verified.
        let head = self.history_head()?;
        let bound = head.map_or(0, |head| head.seq).to_be_bytes();
        let mut verifier = ChainVerifier::new();
        for item in self.inner.history.range(..=bound) {
            let (key, value) = item.map_err(storage)?;
            verifier.push(&key, &value)?;
        }
        let summary = verifier.finish(head)?;
        // Anything after the bound must be covered by the head as it is now: entries added
        // behind the store's back (without moving the head) are tampering.
        let now_head = self.history_head()?.map_or(0, |head| head.seq);
        let after = (std::ops::Bound::Excluded(bound), std::ops::Bound::Unbounded);
        for item in self.inner.history.range(after) {
            let (key, _) = item.map_err(storage)?;
            let seq = <[u8; 8]>::try_from(key.as_ref()).map(u64::from_be_bytes);
            if !matches!(seq, Ok(seq) if seq <= now_head) {
                return Err(Error::HistoryTampered {
                    seq: summary.entries + 1,
                    reason: format!("entry 0x{} lies beyond the head", hex::encode(&key)),
                });
            }
        }
        Ok(summary)
    }
}
