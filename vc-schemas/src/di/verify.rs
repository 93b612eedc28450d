//! Verifying a Data Integrity proof (VC-DI §4.3), as a sequence of steps: find the one proof,
//! read its options, resolve the key, hash, check the signature. Errors name what is wrong with
//! the proof's shape; a bad signature is only ever "invalid proof".
//!
//! Suites ([`Suite`]): `eddsa-rdfc-2022` and `eddsa-jcs-2022` (VC-DI-EdDSA §3.3, §3.4),
//! `ecdsa-rdfc-2019` and `ecdsa-jcs-2019` with P-256 (VC-DI-ECDSA §3.4, §3.5), and the legacy
//! `Ed25519Signature2020` proof type (VC-DI-EdDSA Appendix, "Ed25519Signature2020"), which
//! many Open Badges 3.0 issuers still use: it hashes as `eddsa-rdfc-2022` does. The RDFC suites
//! canonicalise with RDFC-1.0 under the document's contexts; the JCS suites with the JSON
//! Canonicalization Scheme (RFC 8785), with no JSON-LD processing.

use serde_json::{Map, Value};

use crate::did::{KeyResolver, ProofPurpose};
use crate::jsonld::{hash_lines, JsonLd};
use crate::keys::Algorithm;
use crate::Error;

/// What a verified Data Integrity proof said.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedProof {
    pub cryptosuite: String,
    pub verification_method: String,
    pub proof_purpose: String,
    pub created: Option<String>,
    pub challenge: Option<String>,
    pub domain: Option<Vec<String>>,
}

/// How a suite turns the document and the proof options into bytes to hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canonicalization {
    /// RDFC-1.0 (URDNA2015) N-Quads under the document's `@context`.
    Rdfc,
    /// RDFC-1.0 as Linked Data Proofs do it: the proof options under the proof's own
    /// `@context` when it has one (`Ed25519Signature2020`).
    LinkedDataRdfc,
    /// RFC 8785 JSON Canonicalization Scheme.
    Jcs,
}

/// A proof type and cryptosuite kura verifies.
#[derive(Debug, Clone, Copy)]
struct Suite {
    /// The cryptosuite, or the proof type for `Ed25519Signature2020`.
    name: &'static str,
    algorithm: Algorithm,
    canonicalization: Canonicalization,
}

/// `(type, cryptosuite)` → suite.
const SUITES: [(&str, Option<&str>, Suite); 5] = [
    suite(
        "DataIntegrityProof",
        Some("eddsa-rdfc-2022"),
        Algorithm::Ed25519,
        Canonicalization::Rdfc,
    ),
    suite(
        "DataIntegrityProof",
        Some("ecdsa-rdfc-2019"),
        Algorithm::P256,
        Canonicalization::Rdfc,
    ),
    suite(
        "DataIntegrityProof",
        Some("eddsa-jcs-2022"),
        Algorithm::Ed25519,
        Canonicalization::Jcs,
    ),
    suite(
        "DataIntegrityProof",
        Some("ecdsa-jcs-2019"),
        Algorithm::P256,
        Canonicalization::Jcs,
    ),
    suite(
        "Ed25519Signature2020",
        None,
        Algorithm::Ed25519,
        Canonicalization::LinkedDataRdfc,
    ),
];

const fn suite(
    proof_type: &'static str,
    cryptosuite: Option<&'static str>,
    algorithm: Algorithm,
    canonicalization: Canonicalization,
) -> (&'static str, Option<&'static str>, Suite) {
    let name = match cryptosuite {
        Some(name) => name,
        None => proof_type,
    };
    (
        proof_type,
        cryptosuite,
        Suite {
            name,
            algorithm,
            canonicalization,
        },
    )
}

/// The members of a proof that verification reads, checked for shape.
struct ProofOptions<'a> {
    suite: Suite,
    verification_method: &'a str,
    signature: Vec<u8>,
    created: Option<String>,
}

/// Verifies the single Data Integrity proof of `document` (VC-DI §4.3). Errors name what is
/// wrong with the proof's shape; a bad signature is only ever "invalid proof".
pub async fn verify(
    document: &Value,
    purpose: ProofPurpose,
    now: chrono::DateTime<chrono::Utc>,
    resolver: &dyn KeyResolver,
    jsonld: &JsonLd,
) -> Result<VerifiedProof, Error> {
    let object = document
        .as_object()
        .ok_or_else(|| Error::Malformed("a secured document is a JSON object".into()))?;
    let proof = single_proof(object)?;
    let options = read_proof_options(proof, purpose, now)?;
    let key = resolver
        .resolve_key(options.verification_method, purpose)
        .await?;
    if Algorithm::of(&key) != Some(options.suite.algorithm) {
        return Err(Error::InvalidProof);
    }
    let hash_data = match options.suite.canonicalization {
        Canonicalization::Rdfc => hash_data(object, proof, jsonld).await?,
        Canonicalization::LinkedDataRdfc => legacy_hash_data(object, proof, jsonld).await?,
        Canonicalization::Jcs => hash_data_jcs(object, proof)?,
    };
    if key.verify(&hash_data, &options.signature).is_err() {
        return Err(Error::InvalidProof);
    }
    Ok(verified_proof(proof, purpose, options))
}

/// The document's one proof: proof sets and chains are not supported.
fn single_proof(object: &Map<String, Value>) -> Result<&Map<String, Value>, Error> {
    match object.get("proof") {
        Some(Value::Object(proof)) => Ok(proof),
        Some(Value::Array(proofs)) if proofs.len() == 1 && proofs[0].is_object() => Ok(proofs[0]
            .as_object()
            .unwrap_or_else(|| unreachable!("checked above"))),
        Some(Value::Array(_)) => Err(Error::Unsupported(
            "proof sets and chains (more than one proof)".into(),
        )),
        Some(_) => Err(Error::Malformed("`proof` is not an object".into())),
        None => Err(Error::Malformed("no `proof`".into())),
    }
}

fn text<'a>(proof: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    proof.get(name).and_then(Value::as_str)
}

/// Type, cryptosuite, purpose, verification method, signature and the proof's own validity
/// (`created`, `expires` at `now`), in this order.
fn read_proof_options<'a>(
    proof: &'a Map<String, Value>,
    purpose: ProofPurpose,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ProofOptions<'a>, Error> {
    let proof_type = text(proof, "type");
    let cryptosuite = text(proof, "cryptosuite");
    let suite = match SUITES
        .iter()
        .find(|(known, _, _)| Some(*known) == proof_type)
    {
        None => {
            return Err(Error::Unsupported(format!(
                "proof type {:?}",
                proof.get("type")
            )))
        }
        Some(_) => SUITES
            .iter()
            .find(|(known, suite, _)| Some(*known) == proof_type && *suite == cryptosuite)
            .map(|(_, _, suite)| *suite)
            .ok_or_else(|| Error::Unsupported(format!("cryptosuite {cryptosuite:?}")))?,
    };
    if text(proof, "proofPurpose") != Some(purpose.as_str()) {
        return Err(Error::Malformed(format!(
            "proofPurpose is {:?}, expected {:?}",
            proof.get("proofPurpose"),
            purpose.as_str()
        )));
    }
    let verification_method = text(proof, "verificationMethod")
        .ok_or_else(|| Error::Malformed("proof has no verificationMethod".into()))?;
    let signature = decode_proof_value(proof)?;
    let created = text(proof, "created").map(str::to_owned);
    if let Some(created) = &created {
        chrono::DateTime::parse_from_rfc3339(created).map_err(|_| {
            Error::Malformed(format!(
                "proof `created` {created:?} is not a dateTimeStamp"
            ))
        })?;
    }
    check_expires(proof, now)?;
    Ok(ProofOptions {
        suite,
        verification_method,
        signature,
        created,
    })
}

/// VC-DI-EdDSA §3.3.2 / VC-DI-ECDSA §3.4.2: proofValue is base58btc multibase.
fn decode_proof_value(proof: &Map<String, Value>) -> Result<Vec<u8>, Error> {
    let proof_value = text(proof, "proofValue")
        .ok_or_else(|| Error::Malformed("proof has no proofValue".into()))?;
    if !proof_value.starts_with('z') {
        return Err(Error::InvalidProof);
    }
    let (_, signature) = multibase::decode(proof_value).map_err(|_| Error::InvalidProof)?;
    Ok(signature)
}

/// VC-DI §2.1: the proof is valid before `expires`, not at it (as a JWT's `exp`, RFC 7519
/// §4.1.4).
fn check_expires(
    proof: &Map<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    if let Some(expires) = text(proof, "expires") {
        let expires = chrono::DateTime::parse_from_rfc3339(expires).map_err(|_| {
            Error::Malformed(format!(
                "proof `expires` {expires:?} is not a dateTimeStamp"
            ))
        })?;
        if expires <= now {
            return Err(Error::Malformed(format!("the proof expired at {expires}")));
        }
    }
    Ok(())
}

/// VC-DI-EdDSA §3.3.3–§3.3.5 (transformation, proof configuration, hashing):
/// H(proof without proofValue, under the document's @context) ‖ H(document without proof).
/// Verification never uses the signing side's cache of document hashes: every verify
/// canonicalises what it was given.
async fn hash_data(
    object: &Map<String, Value>,
    proof: &Map<String, Value>,
    jsonld: &JsonLd,
) -> Result<Vec<u8>, Error> {
    let mut configuration = proof.clone();
    match object.get("@context") {
        Some(context) => configuration.insert("@context".into(), context.clone()),
        None => configuration.remove("@context"),
    };
    rdfc_hash_data(configuration, object, jsonld).await
}

/// H(`configuration` without `proofValue`) ‖ H(the document without its proof), RDFC-1.0 and
/// SHA-256.
async fn rdfc_hash_data(
    mut configuration: Map<String, Value>,
    object: &Map<String, Value>,
    jsonld: &JsonLd,
) -> Result<Vec<u8>, Error> {
    configuration.remove("proofValue");
    let mut unsecured = object.clone();
    unsecured.remove("proof");
    let configuration_hash = hash_lines(&jsonld.canonicalize(&Value::Object(configuration)).await?);
    let document_hash = hash_lines(&jsonld.canonicalize(&Value::Object(unsecured)).await?);
    Ok([configuration_hash, document_hash].concat())
}

/// `Ed25519Signature2020` as Linked Data Proofs sign it: like [`hash_data`], except that a
/// proof carrying its own `@context` (as ssi 0.7, and so didkit, writes it:
/// `https://w3id.org/security/suites/ed25519-2020/v1`) is canonicalised under that context, not
/// the document's.
async fn legacy_hash_data(
    object: &Map<String, Value>,
    proof: &Map<String, Value>,
    jsonld: &JsonLd,
) -> Result<Vec<u8>, Error> {
    if !proof.contains_key("@context") {
        return hash_data(object, proof, jsonld).await;
    }
    rdfc_hash_data(proof.clone(), object, jsonld).await
}

/// VC-DI-EdDSA §3.4.3–§3.4.6 / VC-DI-ECDSA §3.5.3–§3.5.6 (JCS suites): the proof options
/// (without `proofValue`) under the document's `@context`, and the document without its proof,
/// each canonicalised with RFC 8785 and hashed with SHA-256: H(options) ‖ H(document). A
/// `@context` in the proof must be the start of the document's, in order (§3.4.2 step 4).
fn hash_data_jcs(
    object: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<Vec<u8>, Error> {
    use sha2::{Digest as _, Sha256};
    let mut configuration = proof.clone();
    configuration.remove("proofValue");
    let contexts = |value: Option<&Value>| match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
    };
    if proof.contains_key("@context") {
        let (own, document) = (
            contexts(proof.get("@context")),
            contexts(object.get("@context")),
        );
        if !document.starts_with(&own) {
            return Err(Error::Malformed(
                "the proof's @context is not the start of the document's @context".into(),
            ));
        }
    }
    match object.get("@context") {
        Some(context) => configuration.insert("@context".into(), context.clone()),
        None => configuration.remove("@context"),
    };
    let mut unsecured = object.clone();
    unsecured.remove("proof");
    let mut hash_data = Vec::with_capacity(64);
    hash_data.extend_from_slice(&Sha256::digest(jcs(Value::Object(configuration))?));
    hash_data.extend_from_slice(&Sha256::digest(jcs(Value::Object(unsecured))?));
    Ok(hash_data)
}

/// RFC 8785, by json-syntax (under ssi's JSON-LD): numbers as ECMAScript prints them, members
/// sorted, strings with the minimal escapes, no whitespace. (Members are sorted by their UTF-8
/// bytes, which differs from RFC 8785's UTF-16 order only between names holding characters
/// above U+FFFF and ones holding U+E000–U+FFFF.)
fn jcs(value: Value) -> Result<String, Error> {
    let mut value = ssi::json_ld::syntax::to_value(value)
        .map_err(|error| Error::Malformed(format!("JCS: {error}")))?;
    value.canonicalize();
    Ok(value.to_string())
}

fn verified_proof(
    proof: &Map<String, Value>,
    purpose: ProofPurpose,
    options: ProofOptions<'_>,
) -> VerifiedProof {
    VerifiedProof {
        cryptosuite: options.suite.name.to_owned(),
        verification_method: options.verification_method.to_owned(),
        proof_purpose: purpose.as_str().to_owned(),
        created: options.created,
        challenge: text(proof, "challenge").map(str::to_owned),
        domain: match proof.get("domain") {
            Some(Value::String(domain)) => Some(vec![domain.clone()]),
            Some(Value::Array(domains)) => Some(
                domains
                    .iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::jcs;

    /// RFC 8785 §3.2.2 and Appendix B: literals, numbers, strings, member order.
    #[test]
    fn jcs_is_rfc_8785() {
        let numbers: Value = serde_json::from_str(
            r#"[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001, -0, 1e21, 1e-7, 100]"#,
        )
        .unwrap();
        assert_eq!(
            jcs(numbers).unwrap(),
            "[333333333.3333333,1e+30,4.5,0.002,1e-27,0,1e+21,1e-7,100]"
        );
        let strings = json!(["\u{20ac}$\u{000f}\nA'B\"\\\\\"/"]);
        assert_eq!(
            jcs(strings).unwrap(),
            "[\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"]"
        );
        let members = json!({"b": [true, null], "a": {"d": 1, "c": "x"}, "\u{e9}": 0});
        assert_eq!(
            jcs(members).unwrap(),
            "{\"a\":{\"c\":\"x\",\"d\":1},\"b\":[true,null],\"\u{e9}\":0}"
        );
    }
}
