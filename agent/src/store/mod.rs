//! The repository's sled store (patent: personal information server 4).
//!
//! A [`Store`] is a cheap-to-clone handle (an `Arc` inside) on one data directory. Each
//! collection has its own tree and its own typed methods; sled types never leave this module.
//!
//! # Trees
//! - `meta`: `schema_version` (u32 BE) and `history_head` (seq u64 BE ‖ SHA-256).
//! - `credentials`: credential id → [`CredentialRecord`].
//! - `credentials_by_type`: `type ‖ 0x00 ‖ id` → empty (the index by type).
//! - `card_keys`: key id (a DID URL) → [`CardKeyRecord`].
//! - `cards`: card identity key (hex) → [`CardRecord`] (registered cards and their channel keys).
//! - `tokens`: SHA-256 of the token → [`crate::token::TokenRecord`] (never the token).
//! - `token_failures`: session id → wrong tokens seen (u32 BE), then the last one's Unix ms (u64 BE).
//! - `history`: seq (u64 BE) → canonical entry ‖ SHA-256 chain hash (see [`crate::history`]).
//! - `history_checkpoints`: seq (u64 BE) → the repository's signature over that entry's hash
//!   (see [`crate::history::checkpoint`]).
//! - `terminals`: terminal DID → [`TerminalRecord`].
//! - `own_terminals`: terminal DID → [`OwnTerminalRecord`] (terminals the owner authorised as
//!   the holder's own, which may present to a remote verifier's domain; DESIGN P6).
//! - `schemas`: schema id → [`SchemaRecord`] (the owner's schemas, pinned by SHA-256; DESIGN P7).
//! - `contexts`: context URL → [`ContextRecord`] (JSON-LD contexts the owner added).
//!
//! # Record versions
//! Every JSON record is stored as one version byte ([`RECORD_VERSION`]) followed by its JSON.
//! History entries carry their own format byte inside the hashed bytes. The `meta` tree's
//! `schema_version` names the layout of the whole store; [`Store::open`] refuses a newer one and
//! migrates an older one (see `docs/store.md`).
//!
//! # Durability (patent ST83, DESIGN P7)
//! Methods that acknowledge something the outside world relies on (credential puts and deletes,
//! card keys, history appends) flush sled's log to disk before they return. Sessions, tokens and
//! terminal sightings are not flushed: a crash ends every session anyway.
//!
//! The server does not block its threads on those flushes: it writes with the `_lazy` methods
//! and awaits [`Store::durable`] before it answers, and one flush serves every request waiting
//! at the time (group commit, see `commit.rs`).

mod card_keys;
mod cards;
mod codec;
mod commit;
mod contexts;
mod credentials;
mod history_tree;
mod own_terminals;
mod schemas;
mod terminals;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::history::ChainSummary;
pub use card_keys::{CardKeyLimits, CardKeyRecord, CardKeyStatus, Publication};
pub use cards::CardRecord;
pub use contexts::ContextRecord;
pub(crate) use credentials::stored_format;
pub use credentials::CredentialRecord;
pub use history_tree::HistoryVerification;
pub use own_terminals::OwnTerminalRecord;
pub use schemas::SchemaRecord;
pub use terminals::TerminalRecord;

use crate::error::{Error, Result};

/// The store layout this build writes. Bump it (and add a migration) when a tree's key or record
/// format changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// The version byte in front of every JSON record.
pub const RECORD_VERSION: u8 = 1;

const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";
/// How long [`Store::open`] waits for sled's directory lock to be released.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Migrations from version `n` to `n + 1`, indexed by `n - 1`. Version 1 is the first layout,
/// so there are none yet; the loop in [`check_schema`] is what future versions plug into.
const MIGRATIONS: &[fn(&Inner) -> Result<()>] = &[];

/// A handle on the repository's store. Clones share the same database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    path: PathBuf,
    meta: sled::Tree,
    credentials: sled::Tree,
    credentials_by_type: sled::Tree,
    card_keys: sled::Tree,
    cards: sled::Tree,
    tokens: sled::Tree,
    token_failures: sled::Tree,
    history: sled::Tree,
    history_checkpoints: sled::Tree,
    terminals: sled::Tree,
    own_terminals: sled::Tree,
    schemas: sled::Tree,
    contexts: sled::Tree,
    /// The repository's key, once [`Store::set_checkpoint_signer`] installed it: appends at
    /// every multiple of the checkpoint interval then sign the head in the same transaction.
    checkpoint_signer: std::sync::OnceLock<crate::history::checkpoint::CheckpointSigner>,
    /// The group-commit thread, started by the first [`Store::durable`].
    commit: std::sync::OnceLock<commit::GroupCommit>,
    /// The card keys by expiry, built on the first publication (ST46 in O(log n)).
    card_key_index: std::sync::Mutex<Option<card_keys::LiveIndex>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, checks its schema version and migrates it if older.
    /// A directory written by a newer kura is refused with [`Error::SchemaTooNew`].
    ///
    /// sled holds an exclusive lock on the directory while it is open, and releases it a little
    /// after its last handle drops, on one of its own threads (sled 0.34; spacejam/sled#1234).
    /// So a store reopened at once in the same process can find the lock still held: `open`
    /// waits up to [`LOCK_WAIT`] for it. A lock held longer is another open store, usually a
    /// running `kura serve`, and is refused with [`Error::Store`] saying so.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let path = dir.as_ref().to_path_buf();
        create_private_dir(&path)?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match sled::Config::new().path(&path).open() {
                Ok(db) => break db,
                Err(sled::Error::Io(error))
                    if error.to_string().starts_with("could not acquire lock") =>
                {
                    if std::time::Instant::now() >= deadline {
                        return Err(Error::Store(format!(
                            "{} is in use by another process (is `kura serve` running on it?)",
                            path.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => {
                    return Err(Error::Store(format!(
                        "cannot open {}: {error}",
                        path.display()
                    )))
                }
            }
        };
        Self::from_db(db, path)
    }

    /// A store that lives in a temporary directory and disappears when the last handle drops.
    /// For tests and benchmarks of code that needs a store.
    pub fn temporary() -> Result<Store> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(storage)?;
        Self::from_db(db, PathBuf::from("<temporary>"))
    }

    fn from_db(db: sled::Db, path: PathBuf) -> Result<Store> {
        let tree = |name: &str| db.open_tree(name).map_err(storage);
        let inner = Inner {
            meta: tree("meta")?,
            credentials: tree("credentials")?,
            credentials_by_type: tree("credentials_by_type")?,
            card_keys: tree("card_keys")?,
            cards: tree("cards")?,
            tokens: tree("tokens")?,
            token_failures: tree("token_failures")?,
            history: tree("history")?,
            history_checkpoints: tree("history_checkpoints")?,
            terminals: tree("terminals")?,
            own_terminals: tree("own_terminals")?,
            schemas: tree("schemas")?,
            contexts: tree("contexts")?,
            checkpoint_signer: std::sync::OnceLock::new(),
            commit: std::sync::OnceLock::new(),
            card_key_index: std::sync::Mutex::new(None),
            db,
            path,
        };
        check_schema(&inner)?;
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> Result<u32> {
        read_schema_version(&self.inner)?.ok_or_else(|| Error::Corrupt {
            tree: "meta",
            key: "schema_version".into(),
            reason: "missing".into(),
        })
    }

    /// Writes everything buffered to disk. Durable methods call this themselves.
    pub fn flush(&self) -> Result<()> {
        self.inner.db.flush().map(drop).map_err(storage)
    }
}

/// Checks the `meta` tree's schema version on open, stamping a fresh store and migrating an
/// older one step by step.
fn check_schema(inner: &Inner) -> Result<()> {
    let found = match read_schema_version(inner)? {
        Some(found) => found,
        None => {
            // A store without a version is either brand new or not ours.
            let has_data = [
                &inner.credentials,
                &inner.card_keys,
                &inner.history,
                &inner.tokens,
                &inner.terminals,
                &inner.own_terminals,
                &inner.schemas,
            ]
            .iter()
            .any(|tree| !tree.is_empty());
            if has_data {
                return Err(Error::Corrupt {
                    tree: "meta",
                    key: "schema_version".into(),
                    reason: "missing while the store holds data".into(),
                });
            }
            write_schema_version(inner, SCHEMA_VERSION)?;
            return Ok(());
        }
    };
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: inner.path.display().to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 0 {
        return Err(Error::Corrupt {
            tree: "meta",
            key: "schema_version".into(),
            reason: "version 0 was never written by kura".into(),
        });
    }
    for version in found..SCHEMA_VERSION {
        let step = usize::try_from(version - 1)
            .ok()
            .and_then(|index| MIGRATIONS.get(index))
            .ok_or_else(|| Error::Store(format!("no migration from schema {version}")))?;
        step(inner)?;
        write_schema_version(inner, version + 1)?;
    }
    Ok(())
}

fn read_schema_version(inner: &Inner) -> Result<Option<u32>> {
    let Some(bytes) = inner.meta.get(SCHEMA_VERSION_KEY).map_err(storage)? else {
        return Ok(None);
    };
    let array: [u8; 4] = bytes.as_ref().try_into().map_err(|_| Error::Corrupt {
        tree: "meta",
        key: "schema_version".into(),
        reason: format!("expected 4 bytes, found {}", bytes.len()),
    })?;
    Ok(Some(u32::from_be_bytes(array)))
}

fn write_schema_version(inner: &Inner, version: u32) -> Result<()> {
    inner
        .meta
        .insert(SCHEMA_VERSION_KEY, version.to_be_bytes().to_vec())
        .map_err(storage)?;
    inner.db.flush().map_err(storage)?;
    Ok(())
}

/// Creates the data directory if it is missing, readable by its owner only: it holds personal
/// credentials. An existing directory keeps the permissions its owner gave it.
fn create_private_dir(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .map_err(|error| Error::Store(format!("cannot create {}: {error}", path.display())))
}

/// Flattens a sled error into ours, so that sled types stay private.
fn storage(error: sled::Error) -> Error {
    Error::Store(error.to_string())
}

/// Maps a failed sled transaction to our error.
fn transaction_error(error: sled::transaction::TransactionError<Error>) -> Error {
    match error {
        sled::transaction::TransactionError::Abort(error) => error,
        sled::transaction::TransactionError::Storage(error) => storage(error),
    }
}

/// Rejects ids and names that would break key layouts or logs: empty, too long, or with a NUL
/// (the index separator) or other control characters.
fn check_name(kind: &str, value: &str) -> Result<()> {
    const MAX_LEN: usize = 4096;
    if value.is_empty() {
        return Err(Error::InvalidInput(format!("{kind} is empty")));
    }
    if value.len() > MAX_LEN {
        return Err(Error::InvalidInput(format!(
            "{kind} is longer than {MAX_LEN} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "{kind} contains a control character"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
