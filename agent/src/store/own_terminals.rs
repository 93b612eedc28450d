//! The `own_terminals` tree: terminals the owner authorised as the holder's own (DESIGN P6).
//!
//! A counter terminal gets presentations bound to its own DID only. A terminal on this list, the
//! holder's own PC with the card in its reader (the patent's terminal 1), may also ask for a
//! presentation bound to another domain: the `client_id` of a remote verifier it relays for
//! (OpenID4VP). Authorising and revoking are owner actions, each recorded in the history.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{check_name, codec, storage, Store};
use crate::error::Result;
use crate::history::{Event, HistoryEntry};
use crate::token::unix_millis;

const TREE: &str = "own_terminals";

/// A terminal the owner authorised as the holder's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnTerminalRecord {
    /// The terminal's DID.
    pub did: String,
    /// When the owner authorised it (Unix milliseconds).
    pub authorised_at_ms: u64,
}

impl Store {
    /// Authorises `did` as the holder's own terminal and appends `event`, in one transaction;
    /// on disk with the next [`Store::durable`]. Authorising twice keeps the first time.
    pub fn authorise_own_terminal_lazy(
        &self,
        did: &str,
        now: SystemTime,
        event: &Event,
    ) -> Result<(OwnTerminalRecord, HistoryEntry)> {
        check_name("terminal DID", did)?;
        let record = match self.own_terminal(did)? {
            Some(existing) => existing,
            None => OwnTerminalRecord {
                did: did.to_owned(),
                authorised_at_ms: unix_millis(now),
            },
        };
        let encoded = codec::encode(TREE, &record)?;
        let ((), entry) =
            self.change_with_history(&[&self.inner.own_terminals], event, |tree| {
                tree[0].insert(did.as_bytes(), encoded.clone())?;
                Ok(())
            })?;
        Ok((record, entry))
    }

    /// Revokes `did`: `Ok(None)` when it was not authorised (nothing is written).
    pub fn revoke_own_terminal_lazy(
        &self,
        did: &str,
        event: &Event,
    ) -> Result<Option<HistoryEntry>> {
        if self.own_terminal(did)?.is_none() {
            return Ok(None);
        }
        let (_, entry) = self.change_with_history(&[&self.inner.own_terminals], event, |tree| {
            Ok(tree[0].remove(did.as_bytes())?)
        })?;
        Ok(Some(entry))
    }

    /// The authorisation of `did`, if the owner gave one.
    pub fn own_terminal(&self, did: &str) -> Result<Option<OwnTerminalRecord>> {
        self.inner
            .own_terminals
            .get(did.as_bytes())
            .map_err(storage)?
            .map(|bytes| codec::decode(TREE, did.as_bytes(), &bytes))
            .transpose()
    }

    /// Every terminal authorised as the holder's own, in DID order.
    pub fn own_terminals(&self) -> Result<Vec<OwnTerminalRecord>> {
        self.inner
            .own_terminals
            .iter()
            .map(|item| {
                let (key, bytes) = item.map_err(storage)?;
                codec::decode(TREE, &key, &bytes)
            })
            .collect()
    }
}
