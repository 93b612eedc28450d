//! The `history` tree: appending, listing and verifying the hash-chained log, and the
//! `history_checkpoints` tree of its signed heads.
//!
//! Every append reads the head from `meta` and writes the entry and the new head in one sled
//! transaction, so concurrent appends are serialised and the head always names the newest
//! entry. Operations that must be logged atomically with their effect (a credential write or
//! delete) call [`Store::append_in`] inside their own transaction. Once the repository's key is
//! installed ([`Store::set_checkpoint_signer`]), an append whose seq is a multiple of
//! [`CHECKPOINT_INTERVAL`] writes its signed checkpoint in that same transaction.

use std::time::SystemTime;

use sled::transaction::{ConflictableTransactionError, Transactional, TransactionalTree};

use super::{storage, transaction_error, Store};
use crate::error::{Error, Result};
use crate::history::checkpoint::{
    Checkpoint, CheckpointKey, CheckpointSigner, CheckpointSummary, CheckpointVerifier,
    CHECKPOINT_INTERVAL,
};
use crate::history::page::{Cursor, PageRequest};
use crate::history::{
    chain_hash, decode_stored, encode_entry, stored_value, ChainSummary, ChainVerifier, Event,
    Head, HistoryEntry, GENESIS_HASH,
};
use crate::token::unix_millis;

/// The `meta` key of the chain's head.
pub(super) const HEAD_KEY: &[u8] = b"history_head";

/// What [`Store::verify_history`] reports for an intact, anchored log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryVerification {
    /// The chain: entries and head.
    pub chain: ChainSummary,
    /// The checkpoints: how many, and the newest (which pins entries 1..=its seq).
    pub checkpoints: CheckpointSummary,
}

pub(super) type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

impl Store {
    /// Changes `trees` with `change` (which sees them in the same order) and appends `event` to
    /// the history, in one transaction: all are written or none is. On disk with the next
    /// flush or [`Store::durable`].
    pub(super) fn change_with_history<T>(
        &self,
        trees: &[&sled::Tree],
        event: &Event,
        change: impl Fn(&[TransactionalTree]) -> TxResult<T>,
    ) -> Result<(T, HistoryEntry)> {
        let inner = &self.inner;
        let mut all = trees.to_vec();
        all.extend([&inner.history, &inner.meta, &inner.history_checkpoints]);
        all[..]
            .transaction(|view: &Vec<TransactionalTree>| {
                let (changed, log) = view.split_at(trees.len());
                let changed = change(changed)?;
                Ok((changed, self.append_in(&log[0], &log[1], &log[2], event)?))
            })
            .map_err(transaction_error)
    }

    /// Appends `event` inside a transaction over the `history`, `meta` and
    /// `history_checkpoints` trees.
    pub(super) fn append_in(
        &self,
        history: &TransactionalTree,
        meta: &TransactionalTree,
        checkpoints: &TransactionalTree,
        event: &Event,
    ) -> TxResult<HistoryEntry> {
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
        // A head that lags behind the log (a tampered `meta`) must not make us overwrite an
        // entry.
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
        if let Some(signer) = self.inner.checkpoint_signer.get() {
            if seq % CHECKPOINT_INTERVAL == 0 {
                // Signed inside the transaction: a retry signs again (Ed25519 is deterministic),
                // and after a crash the entry and its checkpoint are both there, or neither.
                let checkpoint = signer.sign(Head { seq, hash }, event.time_ms);
                checkpoints.insert(&key[..], checkpoint.encode())?;
            }
        }
        Ok(HistoryEntry {
            seq,
            event: event.clone(),
            hash,
        })
    }

    /// Installs the repository's DID key: from now on the store signs a checkpoint with every
    /// [`CHECKPOINT_INTERVAL`]th entry. A store takes one key for its lifetime; a second call
    /// is refused.
    pub fn set_checkpoint_signer(&self, signer: CheckpointSigner) -> Result<()> {
        self.inner
            .checkpoint_signer
            .set(signer)
            .map_err(|_| Error::Store("the store already has a checkpoint key".into()))
    }

    /// Appends an event to the history and flushes before returning: a read is logged on disk
    /// before its presentation is released (patent ST63 before ST64).
    pub fn append_history(&self, event: &Event) -> Result<HistoryEntry> {
        let inner = &self.inner;
        let entry = (&inner.history, &inner.meta, &inner.history_checkpoints)
            .transaction(|(history, meta, checkpoints)| {
                self.append_in(history, meta, checkpoints, event)
            })
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
        (&inner.history, &inner.meta, &inner.history_checkpoints)
            .transaction(|(history, meta, checkpoints)| {
                self.append_in(history, meta, checkpoints, event)
            })
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

    /// One page of the log for the owner (see [`crate::history::page`]): newest first through
    /// a reverse range over the tree, or oldest first from a seq, reading only the page's
    /// entries. Decoded but not verified.
    pub fn history_page(&self, request: &PageRequest) -> Result<Vec<HistoryEntry>> {
        let decode = |item: sled::Result<(sled::IVec, sled::IVec)>| {
            let (key, value) = item.map_err(storage)?;
            decode_stored(&key, &value)
        };
        let tree = &self.inner.history;
        match request.cursor {
            Cursor::NewestFirst { after: None } => {
                tree.iter().rev().take(request.limit).map(decode).collect()
            }
            Cursor::NewestFirst { after: Some(after) } => tree
                .range(..after.to_be_bytes())
                .rev()
                .take(request.limit)
                .map(decode)
                .collect(),
            Cursor::OldestFirst { from } => self.history(from, request.limit),
        }
    }

    /// How many entries the log holds.
    pub fn history_len(&self) -> usize {
        self.inner.history.len()
    }

    /// Checks the whole chain: every entry's hash, the seq sequence and the head. The first
    /// altered, removed, reordered or inserted entry is reported as
    /// [`Error::HistoryTampered`] with its seq.
    pub fn verify_chain(&self) -> Result<ChainSummary> {
        self.verify_chain_with(|_| Ok(()))
    }

    /// [`Store::verify_chain`], calling `on_entry` with every entry verified, in order.
    fn verify_chain_with(
        &self,
        mut on_entry: impl FnMut(&HistoryEntry) -> Result<()>,
    ) -> Result<ChainSummary> {
        // Walk up to the head read first, so that appends racing with the walk are neither
        // reported as tampering nor silently accepted as verified.
        let head = self.history_head()?;
        let bound = head.map_or(0, |head| head.seq).to_be_bytes();
        let mut verifier = ChainVerifier::new();
        for item in self.inner.history.range(..=bound) {
            let (key, value) = item.map_err(storage)?;
            on_entry(&verifier.push(&key, &value)?)?;
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

    /// Every stored checkpoint, oldest first. A record that does not decode is an error.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.inner
            .history_checkpoints
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                Checkpoint::decode(&key, &value)
            })
            .collect()
    }

    /// Checks the chain and every checkpoint against it under `key` (the repository's DID
    /// key): each checkpoint must verify and name the hash the chain has at its seq, none may
    /// lie beyond the head, and the newest must cover the last multiple of
    /// [`CHECKPOINT_INTERVAL`]. The first failure is [`Error::HistoryTampered`]; a broken
    /// checkpoint is named in its reason.
    pub fn verify_history(&self, key: &CheckpointKey) -> Result<HistoryVerification> {
        self.verify_history_inner(key, true)
    }

    fn verify_history_inner(
        &self,
        key: &CheckpointKey,
        coverage: bool,
    ) -> Result<HistoryVerification> {
        // The head before the checkpoints: every checkpoint up to it is already stored (each is
        // written with its entry), so the coverage rule cannot trip on a racing append.
        let coverage_head = self.history_head()?.map(|head| head.seq);
        let stored = self.checkpoints().map_err(|error| match error {
            Error::Corrupt { key, reason, .. } => Error::HistoryTampered {
                seq: 0,
                reason: format!("checkpoint record {key} does not decode: {reason}"),
            },
            other => other,
        })?;
        let mut checkpoints = CheckpointVerifier::new(key.clone(), stored);
        let chain = self.verify_chain_with(|entry| checkpoints.push(entry))?;
        let coverage_head = if coverage { coverage_head } else { None };
        let checkpoints = checkpoints.finish(chain.head, coverage_head)?;
        Ok(HistoryVerification { chain, checkpoints })
    }

    /// Signs the head now, on the owner's request, once the chain and the checkpoints already
    /// stored verify (so that a tampered log is never signed). The coverage rule is not applied,
    /// so that a store written by a kura without checkpoints can be anchored once. Returns the
    /// checkpoint (the one already stored at that seq, if any), or `None` for an empty log.
    pub fn checkpoint_head(&self, now: SystemTime) -> Result<Option<Checkpoint>> {
        let checkpoint = self.checkpoint_head_lazy(now)?;
        self.flush()?;
        Ok(checkpoint)
    }

    /// [`Store::checkpoint_head`] without waiting for the disk: the server awaits
    /// [`Store::durable`] before it answers, so that no worker blocks on the flush.
    pub fn checkpoint_head_lazy(&self, now: SystemTime) -> Result<Option<Checkpoint>> {
        let signer = self.inner.checkpoint_signer.get().ok_or_else(|| {
            Error::Store("this store has no checkpoint key (open it as a repository)".into())
        })?;
        let verified = self.verify_history_inner(&signer.checkpoint_key(), false)?;
        let Some(head) = verified.chain.head else {
            return Ok(None);
        };
        let checkpoint = signer.sign(head, unix_millis(now));
        let key = head.seq.to_be_bytes();
        let tree = &self.inner.history_checkpoints;
        // Keep the first checkpoint of a seq: the periodic one, or an earlier request's.
        let kept = tree
            .compare_and_swap(key, None as Option<&[u8]>, Some(checkpoint.encode()))
            .map_err(storage)?;
        match kept {
            Ok(()) => Ok(Some(checkpoint)),
            Err(existing) => existing
                .current
                .map(|value| Checkpoint::decode(&key, &value))
                .transpose(),
        }
    }

    /// Signs the head at shutdown, verifying only what the new checkpoint adds: the newest
    /// stored checkpoint's signature and hash, then the links from it to the head. The entries
    /// before it are pinned by that checkpoint already, so the cost is the unanchored tail
    /// (fewer than 100 entries unless the owner left a store unanchored), not the whole log.
    /// Without any checkpoint yet it falls back to [`Store::checkpoint_head`]. Flushes.
    pub fn checkpoint_tail(&self, now: SystemTime) -> Result<Option<Checkpoint>> {
        let signer = self.inner.checkpoint_signer.get().ok_or_else(|| {
            Error::Store("this store has no checkpoint key (open it as a repository)".into())
        })?;
        let newest = match self.inner.history_checkpoints.last().map_err(storage)? {
            Some((key, value)) => Checkpoint::decode(&key, &value)?,
            None => return self.checkpoint_head(now),
        };
        let head = self.history_head()?;
        let key = signer.checkpoint_key();
        let anchor = self.history(newest.seq, 1)?.into_iter().next();
        let mut checkpoints = CheckpointVerifier::new(key, vec![newest.clone()]);
        match &anchor {
            Some(entry) if entry.seq == newest.seq => checkpoints.push(entry)?,
            _ => {}
        }
        // A checkpoint whose entry is gone is reported by `finish` (it lies beyond the head).
        checkpoints.finish(
            anchor.as_ref().map(|entry| Head {
                seq: entry.seq,
                hash: entry.hash,
            }),
            None,
        )?;
        let mut verifier = ChainVerifier::resume(Head {
            seq: newest.seq,
            hash: newest.hash,
        });
        let bound = head.map_or(0, |head| head.seq).to_be_bytes();
        let tail = (newest.seq + 1).to_be_bytes();
        for item in self.inner.history.range(tail..=bound) {
            let (key, value) = item.map_err(storage)?;
            verifier.push(&key, &value)?;
        }
        let Some(head) = verifier.finish(head)?.head else {
            return Ok(None);
        };
        if head.seq == newest.seq {
            return Ok(Some(newest));
        }
        let checkpoint = signer.sign(head, unix_millis(now));
        self.inner
            .history_checkpoints
            .compare_and_swap(
                head.seq.to_be_bytes(),
                None as Option<&[u8]>,
                Some(checkpoint.encode()),
            )
            .map_err(storage)?
            .map_err(|_| Error::Store("a checkpoint of the head appeared meanwhile".into()))?;
        self.flush()?;
        Ok(Some(checkpoint))
    }

    /// The repository's checkpoint key, when one is installed.
    pub fn checkpoint_key(&self) -> Option<CheckpointKey> {
        self.inner
            .checkpoint_signer
            .get()
            .map(CheckpointSigner::checkpoint_key)
    }
}
