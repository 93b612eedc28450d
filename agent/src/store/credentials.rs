//! The `credentials` tree and its index by type.
//!
//! A credential is stored as received (the VC's JSON text or the VC-JWT string), so that its
//! proof keeps verifying byte for byte, next to the facts the store indexes: its types and issuer.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sled::transaction::{ConflictableTransactionError, Transactional, TransactionalTree};
use vc_schemas::{ProofFormat, Secured};

use super::{check_name, codec, storage, transaction_error, Store};
use crate::error::{Error, Result};
use crate::history::{Event, HistoryEntry};
use crate::token::unix_millis;

const TREE: &str = "credentials";

/// The stored spelling of a record's [`ProofFormat`], also what the owner's routes show:
/// `json` (the body is the credential's JSON, secured with Data Integrity) or `jwt` (a compact
/// JWS: VC-JWT, VC Data Model 1.1 `vc` claim, or VC-JOSE, 2.0). Records written before the
/// proof formats were one type say the same, so every stored record keeps reading.
pub(crate) mod stored_format {
    use serde::{Deserialize, Deserializer, Serializer};
    use vc_schemas::ProofFormat;

    pub(crate) fn serialize<S: Serializer>(
        format: &ProofFormat,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match format {
            ProofFormat::DataIntegrity => "json",
            ProofFormat::Jwt => "jwt",
        })
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ProofFormat, D::Error> {
        match <&str>::deserialize(deserializer)? {
            "json" => Ok(ProofFormat::DataIntegrity),
            "jwt" => Ok(ProofFormat::Jwt),
            other => Err(serde::de::Error::unknown_variant(other, &["json", "jwt"])),
        }
    }
}

/// A stored credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// The credential id the writer gave (patent ST79), the key of the record.
    pub id: String,
    /// The credential's `type` values, e.g. `["VerifiableCredential", "QualificationCredential"]`.
    pub types: Vec<String>,
    /// The issuer's DID.
    pub issuer: String,
    /// How `body` is encoded: JSON secured with Data Integrity, or a compact JWS. Stored as
    /// `json` or `jwt` ([`stored_format`]).
    #[serde(with = "stored_format")]
    pub format: ProofFormat,
    /// The credential exactly as received.
    pub body: String,
    /// When the repository stored it (Unix milliseconds).
    pub stored_at_ms: u64,
}

impl CredentialRecord {
    /// A record for a secured credential, as [`Self::from_json`] (its JSON on one line) or
    /// [`Self::from_jwt`].
    pub fn new(id: impl Into<String>, credential: &Secured, now: SystemTime) -> Result<Self> {
        match credential {
            Secured::Json(_) => Self::from_json(id, credential.to_compact_text(), now),
            Secured::Jwt(jwt) => Self::from_jwt(id, jwt.clone(), now),
        }
    }

    /// The stored credential, to verify or present. A JSON body that no longer parses is
    /// [`Error::Corrupt`].
    pub fn credential(&self) -> Result<Secured> {
        match self.format {
            ProofFormat::Jwt => Ok(Secured::Jwt(self.body.clone())),
            ProofFormat::DataIntegrity => serde_json::from_str(&self.body)
                .map(Secured::Json)
                .map_err(|error| Error::Corrupt {
                    tree: TREE,
                    key: codec::printable_key(self.id.as_bytes()),
                    reason: format!("the body is not JSON: {error}"),
                }),
        }
    }

    /// A record for a JSON credential: `type` and `issuer` are read from the JSON.
    /// The proof is not checked here: that is the write flow's job (patent ST82).
    pub fn from_json(
        id: impl Into<String>,
        json: impl Into<String>,
        now: SystemTime,
    ) -> Result<Self> {
        let body = json.into();
        let value: Value = serde_json::from_str(&body)
            .map_err(|error| Error::InvalidInput(format!("credential is not JSON: {error}")))?;
        let (types, issuer) = types_and_issuer(&value, None)?;
        Ok(CredentialRecord {
            id: id.into(),
            types,
            issuer,
            format: ProofFormat::DataIntegrity,
            body,
            stored_at_ms: unix_millis(now),
        })
    }

    /// A record for a compact JWS credential. The payload is decoded (not verified) to read the
    /// types and issuer: from the `vc` claim and `iss` (VC-JWT, VC Data Model 1.1 §6.3.1) or from
    /// the payload itself (VC-JOSE-COSE, Data Model 2.0).
    pub fn from_jwt(
        id: impl Into<String>,
        jwt: impl Into<String>,
        now: SystemTime,
    ) -> Result<Self> {
        use base64::Engine as _;
        let body = jwt.into();
        let mut parts = body.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidInput(
                "a JWT has three dot-separated parts".into(),
            ));
        };
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|error| {
                Error::InvalidInput(format!("JWT payload is not base64url: {error}"))
            })?;
        let claims: Value = serde_json::from_slice(&payload)
            .map_err(|error| Error::InvalidInput(format!("JWT payload is not JSON: {error}")))?;
        let iss = claims.get("iss").and_then(Value::as_str);
        let (types, issuer) = match claims.get("vc") {
            Some(vc) => types_and_issuer(vc, iss)?,
            None => types_and_issuer(&claims, iss)?,
        };
        Ok(CredentialRecord {
            id: id.into(),
            types,
            issuer,
            format: ProofFormat::Jwt,
            body,
            stored_at_ms: unix_millis(now),
        })
    }

    fn check(&self) -> Result<()> {
        check_name("credential id", &self.id)?;
        check_name("issuer", &self.issuer)?;
        if self.types.is_empty() {
            return Err(Error::InvalidInput("credential has no type".into()));
        }
        for kind in &self.types {
            check_name("credential type", kind)?;
        }
        Ok(())
    }
}

/// Reads VC Data Model `type` (a string or an array of strings) and `issuer` (a string or an
/// object with an `id`), VC Data Model 2.0 §4.5 and §4.7.
fn types_and_issuer(vc: &Value, fallback_issuer: Option<&str>) -> Result<(Vec<String>, String)> {
    let types = match vc.get("type") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|kind| kind.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::InvalidInput("credential `type` holds a non-string".into()))?,
        _ => return Err(Error::InvalidInput("credential has no `type`".into())),
    };
    let issuer = match vc.get("issuer") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Object(object)) => object
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::InvalidInput("credential `issuer` object has no `id`".into()))?
            .to_owned(),
        _ => fallback_issuer
            .ok_or_else(|| Error::InvalidInput("credential has no `issuer`".into()))?
            .to_owned(),
    };
    Ok((types, issuer))
}

/// The index key: `type ‖ 0x00 ‖ id`. Neither part may hold a NUL ([`check_name`]).
fn index_key(kind: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(kind.len() + 1 + id.len());
    key.extend_from_slice(kind.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

/// Inserts a credential and its index entries inside a transaction; refuses an existing id.
fn insert_in(
    credentials: &TransactionalTree,
    index: &TransactionalTree,
    record: &CredentialRecord,
    encoded: &[u8],
) -> TxResult<()> {
    if credentials.get(record.id.as_bytes())?.is_some() {
        return Err(ConflictableTransactionError::Abort(Error::AlreadyExists {
            kind: "credential",
            id: record.id.clone(),
        }));
    }
    credentials.insert(record.id.as_bytes(), encoded)?;
    for kind in &record.types {
        index.insert(index_key(kind, &record.id), Vec::<u8>::new())?;
    }
    Ok(())
}

/// Removes a credential and its index entries inside a transaction. A record that does not
/// decode aborts the transaction: the index cannot be cleaned without knowing its types.
fn remove_in(
    credentials: &TransactionalTree,
    index: &TransactionalTree,
    id: &str,
) -> TxResult<Option<CredentialRecord>> {
    let Some(bytes) = credentials.remove(id.as_bytes())? else {
        return Ok(None);
    };
    let record: CredentialRecord =
        codec::decode(TREE, id.as_bytes(), &bytes).map_err(ConflictableTransactionError::Abort)?;
    for kind in &record.types {
        index.remove(index_key(kind, id))?;
    }
    Ok(Some(record))
}

impl Store {
    /// Stores a new credential and indexes it by type, then flushes: when this returns `Ok`, the
    /// credential is on disk (patent ST83). An existing id is refused with
    /// [`Error::AlreadyExists`]; the owner deletes first to replace.
    pub fn put_credential(&self, record: &CredentialRecord) -> Result<()> {
        record.check()?;
        let encoded = codec::encode(TREE, record)?;
        let inner = &self.inner;
        (&inner.credentials, &inner.credentials_by_type)
            .transaction(|(credentials, index)| insert_in(credentials, index, record, &encoded))
            .map_err(transaction_error)?;
        self.flush()
    }

    /// Stores a new credential together with the history entry that records the write (patent
    /// ST81–83), in one transaction, then flushes. Either both are on disk or neither is.
    pub fn put_credential_with_history(
        &self,
        record: &CredentialRecord,
        entry: &Event,
    ) -> Result<HistoryEntry> {
        let appended = self.put_credential_with_history_lazy(record, entry)?;
        self.flush()?;
        Ok(appended)
    }

    /// [`Self::put_credential_with_history`] without the flush: the caller awaits
    /// [`Store::durable`] before it acknowledges the write.
    pub fn put_credential_with_history_lazy(
        &self,
        record: &CredentialRecord,
        entry: &Event,
    ) -> Result<HistoryEntry> {
        record.check()?;
        let encoded = codec::encode(TREE, record)?;
        let inner = &self.inner;
        let trees = [&inner.credentials, &inner.credentials_by_type];
        let ((), appended) = self.change_with_history(&trees, entry, |trees| {
            insert_in(&trees[0], &trees[1], record, &encoded)
        })?;
        Ok(appended)
    }

    /// The credential with this id, if any.
    pub fn get_credential(&self, id: &str) -> Result<Option<CredentialRecord>> {
        self.inner
            .credentials
            .get(id.as_bytes())
            .map_err(storage)?
            .map(|bytes| codec::decode(TREE, id.as_bytes(), &bytes))
            .transpose()
    }

    /// Every stored credential, in id order.
    pub fn credentials(&self) -> Result<Vec<CredentialRecord>> {
        self.inner
            .credentials
            .iter()
            .map(|item| {
                let (key, bytes) = item.map_err(storage)?;
                codec::decode(TREE, &key, &bytes)
            })
            .collect()
    }

    /// How many credentials are stored.
    pub fn credential_count(&self) -> usize {
        self.inner.credentials.len()
    }

    /// The ids of the credentials that have `kind` among their types, in id order.
    pub fn credential_ids_by_type(&self, kind: &str) -> Result<Vec<String>> {
        check_name("credential type", kind)?;
        let prefix = index_key(kind, "");
        self.inner
            .credentials_by_type
            .scan_prefix(&prefix)
            .keys()
            .map(|key| {
                let key = key.map_err(storage)?;
                std::str::from_utf8(&key[prefix.len()..])
                    .map(str::to_owned)
                    .map_err(|_| Error::Corrupt {
                        tree: "credentials_by_type",
                        key: codec::printable_key(&key),
                        reason: "id is not UTF-8".into(),
                    })
            })
            .collect()
    }

    /// The credentials that have `kind` among their types, in id order. An index entry without
    /// its credential is reported as corruption rather than skipped.
    pub fn credentials_by_type(&self, kind: &str) -> Result<Vec<CredentialRecord>> {
        self.credential_ids_by_type(kind)?
            .into_iter()
            .map(|id| {
                self.get_credential(&id)?.ok_or_else(|| Error::Corrupt {
                    tree: "credentials_by_type",
                    key: codec::printable_key(&index_key(kind, &id)),
                    reason: "index entry without its credential".into(),
                })
            })
            .collect()
    }

    /// Deletes a credential and its index entries, then flushes. Returns the deleted record, or
    /// `None` when there was none.
    pub fn delete_credential(&self, id: &str) -> Result<Option<CredentialRecord>> {
        let inner = &self.inner;
        let removed = (&inner.credentials, &inner.credentials_by_type)
            .transaction(|(credentials, index)| remove_in(credentials, index, id))
            .map_err(transaction_error)?;
        self.flush()?;
        Ok(removed)
    }

    /// Deletes a credential and appends the history entry that records it, in one transaction,
    /// then flushes. A missing id gives [`Error::NotFound`] and writes no history.
    pub fn delete_credential_with_history(
        &self,
        id: &str,
        entry: &Event,
    ) -> Result<(CredentialRecord, HistoryEntry)> {
        let done = self.delete_credential_with_history_lazy(id, entry)?;
        self.flush()?;
        Ok(done)
    }

    /// [`Self::delete_credential_with_history`] without the flush: the caller awaits
    /// [`Store::durable`] before it acknowledges the deletion.
    pub fn delete_credential_with_history_lazy(
        &self,
        id: &str,
        entry: &Event,
    ) -> Result<(CredentialRecord, HistoryEntry)> {
        let inner = &self.inner;
        let trees = [&inner.credentials, &inner.credentials_by_type];
        self.change_with_history(&trees, entry, |trees| {
            remove_in(&trees[0], &trees[1], id)?.ok_or_else(|| {
                ConflictableTransactionError::Abort(Error::NotFound {
                    kind: "credential",
                    id: id.to_owned(),
                })
            })
        })
    }
}
