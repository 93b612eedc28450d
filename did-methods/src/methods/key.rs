//! did:key (W3C CCG did:key Method v0.7).
//!
//! The document comes from ssi's own did:key implementation
//! (`ssi::dids::DIDKey`, Multikey verification methods). This module adds
//! what ssi leaves out: the spec's key checks (multicodec type, key length,
//! curve point, did:key §Signature Method Creation Algorithm) before ssi
//! sees the identifier, and `keyAgreement` instead of signing
//! relationships for an X25519 did:key.

use ssi::dids::{resolution, DIDKey, DIDMethodResolver as _};

use crate::did::{Did, DidUrl};
use crate::document::{DidDocument, Relationship};
use crate::error::Error;
use crate::key::PublicKey;

/// `did:key:<multibase(multicodec ‖ key)>`.
pub fn did_key(key: &PublicKey) -> Did {
    let text = format!("did:key:{}", key.to_multibase());
    // base58btc output only holds idchars, so this always parses.
    Did::parse(&text).unwrap_or_else(|_| unreachable!("did:key from base58btc is a valid DID"))
}

/// `did:key:z…#z…`, the id of the key's verification method.
pub fn did_key_verification_method_id(key: &PublicKey) -> DidUrl {
    let multibase = key.to_multibase();
    DidUrl::parse(&format!("did:key:{multibase}#{multibase}"))
        .unwrap_or_else(|_| unreachable!("did:key URL from base58btc is a valid DID URL"))
}

/// Decodes the key a did:key names, with the spec's error codes.
pub fn decode_did_key(did: &Did) -> Result<PublicKey, Error> {
    if did.method() != "key" {
        return Err(Error::invalid_did(did.as_str(), "not a did:key"));
    }
    let multibase = did.method_specific_id();
    // did:key §Document Creation Algorithm step 3: the multibase value MUST
    // start with `z`; a `version:` prefix is not supported here.
    if !multibase.starts_with('z') || multibase.contains(':') {
        return Err(Error::invalid_did(
            did.as_str(),
            "did:key identifier must be a base58btc multibase value starting with `z`",
        ));
    }
    PublicKey::from_multibase(multibase).map_err(|error| match error {
        Error::InvalidPublicKey(reason) if reason.contains("base58") => {
            Error::invalid_did(did.as_str(), reason)
        }
        other => other,
    })
}

/// Resolves a did:key to its document.
pub async fn resolve(did: &Did) -> Result<DidDocument, Error> {
    let key = decode_did_key(did)?;
    let output = DIDKey
        .resolve_method_representation(did.method_specific_id(), resolution::Options::default())
        .await
        .map_err(|error| Error::invalid_did(did.as_str(), error.to_string()))?;
    let mut document = DidDocument::from_json_bytes(&output.document)?;
    if !key.is_signature_key() {
        // An X25519 key cannot sign: it only belongs in keyAgreement.
        let signing =
            std::mem::take(document.relationship_entries_mut(Relationship::Authentication));
        document
            .relationship_entries_mut(Relationship::AssertionMethod)
            .clear();
        *document.relationship_entries_mut(Relationship::KeyAgreement) = signing;
    }
    Ok(document)
}
