//! did:jwk (did:jwk Method Specification, github.com/quartzjer/did-jwk).
//!
//! Hand-written rather than taken from ssi's `DIDJWK`, because the spec's
//! document differs from ssi's default output: the spec uses
//! `JsonWebKey2020` with the JWK copied verbatim (custom members included),
//! absolute `#0` references, and restricts the relationships by the JWK's
//! `use` ("sig": no keyAgreement; "enc": keyAgreement only). ssi defaults to
//! Multikey, ignores `use`, and cannot express an X25519 key as Multikey.
//! [`crate::SsiResolver`] still hands ssi's `DIDJWK` any request for another
//! `publicKeyFormat`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::did::{Did, DidUrl};
use crate::document::{DidDocument, RelationshipEntry, VerificationMethodMap};
use crate::error::Error;
use crate::key::PublicKey;

/// Context of the `JsonWebKey2020` type used by did:jwk documents.
pub const JWS_2020_CONTEXT_V1: &str = "https://w3id.org/security/suites/jws-2020/v1";

/// `did:jwk:<base64url(JCS(public JWK))>`.
///
/// The JWK is [`PublicKey::to_jwk`]: for Ed25519 and P-256 this is the same
/// DID that ssi's `DIDJWK::generate` gives. An X25519 JWK also carries
/// `"use": "enc"`, as the spec recommends, so its document lists the key
/// under `keyAgreement` only.
pub fn did_jwk(key: &PublicKey) -> Did {
    let mut jwk = key.to_jwk();
    if let (PublicKey::X25519(_), Some(object)) = (key, jwk.as_object_mut()) {
        object.insert("use".into(), json!("enc"));
    }
    let text = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(canonical_json(&jwk)));
    // base64url output only holds idchars, so this always parses.
    Did::parse(&text).unwrap_or_else(|_| unreachable!("did:jwk from base64url is a valid DID"))
}

/// `did:jwk:…#0`: a did:jwk has one key, always fragment `0`.
pub fn did_jwk_verification_method_id(key: &PublicKey) -> DidUrl {
    DidUrl::parse(&format!("{}#0", did_jwk(key)))
        .unwrap_or_else(|_| unreachable!("did:jwk#0 is a valid DID URL"))
}

/// JSON with object members sorted, as JCS (RFC 8785 §3.2.3) orders them;
/// our JWKs hold only strings, so member order is all JCS changes.
fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(object) => {
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|key| (key.clone(), sorted(&object[key])))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// Decodes the JWK a did:jwk carries (spec §Read steps 1–4) and the key in it.
pub fn decode_did_jwk(did: &Did) -> Result<(Map<String, Value>, PublicKey), Error> {
    if did.method() != "jwk" {
        return Err(Error::invalid_did(did.as_str(), "not a did:jwk"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(did.method_specific_id())
        .map_err(|_| Error::invalid_did(did.as_str(), "identifier is not base64url"))?;
    let jwk: Value = serde_json::from_slice(&bytes)
        .map_err(|_| Error::invalid_did(did.as_str(), "identifier does not decode to JSON"))?;
    let Value::Object(object) = jwk else {
        return Err(Error::invalid_did(
            did.as_str(),
            "identifier does not decode to a JSON object",
        ));
    };
    // Refuses private JWKs and unsupported key types.
    let key = PublicKey::from_jwk(&Value::Object(object.clone()))?;
    Ok((object, key))
}

/// Builds the did:jwk document (spec §Create, "To create the DID Document").
pub fn resolve(did: &Did) -> Result<DidDocument, Error> {
    let (jwk, _key) = decode_did_jwk(did)?;
    let use_ = jwk.get("use").and_then(Value::as_str).map(str::to_owned);
    let method_id = format!("{did}#0");
    let mut document = DidDocument::new(did.clone());
    document.context = Some(json!([
        crate::document::DID_CONTEXT_V1,
        JWS_2020_CONTEXT_V1
    ]));
    document.verification_method.push(VerificationMethodMap {
        id: method_id.clone(),
        type_: "JsonWebKey2020".into(),
        controller: did.clone(),
        public_key_multibase: None,
        public_key_jwk: Some(Value::Object(jwk)),
        extra: Map::new(),
    });
    let reference = || vec![RelationshipEntry::Reference(method_id.clone())];
    let signs = use_.as_deref() != Some("enc");
    let agrees = use_.as_deref() != Some("sig");
    if signs {
        document.assertion_method = reference();
        document.authentication = reference();
        document.capability_invocation = reference();
        document.capability_delegation = reference();
    }
    if agrees {
        document.key_agreement = reference();
    }
    Ok(document)
}
