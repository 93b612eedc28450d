//! Versioned record encoding: one version byte, then the record as JSON.
//!
//! JSON keeps stored records readable with a hex dump and lets fields be added with serde
//! defaults; the version byte lets a later layout change be detected without guessing.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::RECORD_VERSION;
use crate::error::{Error, Result};

/// Encodes `value` as `RECORD_VERSION ‖ JSON`.
pub(crate) fn encode<T: Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>> {
    let mut bytes = vec![RECORD_VERSION];
    serde_json::to_writer(&mut bytes, value)
        .map_err(|error| Error::Store(format!("cannot encode a `{tree}` record: {error}")))?;
    Ok(bytes)
}

/// Decodes a record written by [`encode`]. Any other version byte, or bytes that are not the
/// expected JSON, give [`Error::Corrupt`] naming the tree and key.
pub(crate) fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T> {
    let corrupt = |reason: String| Error::Corrupt {
        tree,
        key: printable_key(key),
        reason,
    };
    match bytes.split_first() {
        None => Err(corrupt("empty record".into())),
        Some((&RECORD_VERSION, json)) => {
            serde_json::from_slice(json).map_err(|error| corrupt(format!("bad JSON: {error}")))
        }
        Some((version, _)) => Err(corrupt(format!(
            "record version {version}, this kura reads version {RECORD_VERSION}"
        ))),
    }
}

/// A key as text for error messages: as is when it is printable UTF-8, hex otherwise.
pub(crate) fn printable_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if !text.chars().any(char::is_control) => format!("`{text}`"),
        _ => format!("0x{}", hex::encode(key)),
    }
}
