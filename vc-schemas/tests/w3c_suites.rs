//! Every Data Integrity suite kura verifies, on the specifications' own signed examples
//! (`tests/w3c/README.md`): each proof verifies, and any change to what was signed breaks it.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use vc_schemas::{di, JsonLd, OfflineResolver, ProofPurpose};

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/w3c/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn verify(document: &Value) -> Result<di::VerifiedProof, vc_schemas::Error> {
    let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .into();
    di::verify(
        document,
        ProofPurpose::AssertionMethod,
        now,
        &OfflineResolver,
        &JsonLd::new(),
    )
    .await
}

/// The suites whose canonical form needs no JSON-LD context: RFC 8785 JCS.
const JCS: [(&str, &str); 2] = [
    ("eddsa-jcs-2022", "eddsa-jcs-2022"),
    ("ecdsa-jcs-2019-p256", "ecdsa-jcs-2019"),
];

#[tokio::test]
async fn the_jcs_suites_verify_the_specifications_examples() {
    for (file, suite) in JCS {
        let document = vector(file);
        let proof = verify(&document)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(proof.cryptosuite, suite);
        assert_eq!(proof.proof_purpose, "assertionMethod");
    }
}

#[tokio::test]
async fn a_changed_claim_or_proof_option_breaks_a_jcs_proof() {
    for (file, _) in JCS {
        let document = vector(file);
        let mut claim = document.clone();
        claim["credentialSubject"]["alumniOf"] = json!("Another School");
        assert!(
            matches!(verify(&claim).await, Err(vc_schemas::Error::InvalidProof)),
            "{file}"
        );
        let mut created = document.clone();
        created["proof"]["created"] = json!("2023-02-24T23:36:39Z");
        assert!(
            matches!(verify(&created).await, Err(vc_schemas::Error::InvalidProof)),
            "{file}"
        );
        // JCS is about the JSON: member order does not matter, a member more does.
        let mut reordered = serde_json::Map::new();
        for (name, value) in document.as_object().unwrap().iter().rev() {
            reordered.insert(name.clone(), value.clone());
        }
        verify(&Value::Object(reordered)).await.unwrap();
        let mut extra = document.clone();
        extra["credentialSubject"]["extra"] = json!(1);
        assert!(matches!(
            verify(&extra).await,
            Err(vc_schemas::Error::InvalidProof)
        ));
    }
}

#[tokio::test]
async fn a_jcs_proof_context_must_start_the_documents() {
    let mut document = vector("eddsa-jcs-2022");
    document["proof"]["@context"] = json!(["https://www.w3.org/ns/credentials/examples/v2"]);
    let error = verify(&document).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not the start of the document's @context"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_cryptosuite_or_proof_type_is_named() {
    let mut document = vector("eddsa-jcs-2022");
    document["proof"]["cryptosuite"] = json!("eddsa-jcs-2099");
    let error = verify(&document).await.unwrap_err();
    assert!(error.to_string().contains("eddsa-jcs-2099"), "{error}");
    document["proof"]["type"] = json!("Ed25519Signature2018");
    let error = verify(&document).await.unwrap_err();
    assert!(
        error.to_string().contains("Ed25519Signature2018"),
        "{error}"
    );
    // Ed25519Signature2020 has no cryptosuite; one named with it is not that suite.
    let mut legacy = vector("ed25519-signature-2020");
    legacy["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
    assert!(verify(&legacy).await.is_err());
}

/// The suites that canonicalise with RDFC-1.0 under the document's contexts (the W3C examples
/// context and the ed25519-2020 one are bundled).
const RDFC: [(&str, &str); 3] = [
    ("eddsa-rdfc-2022", "eddsa-rdfc-2022"),
    ("ecdsa-rdfc-2019-p256", "ecdsa-rdfc-2019"),
    ("ed25519-signature-2020", "Ed25519Signature2020"),
];

#[tokio::test]
async fn the_rdfc_suites_and_ed25519_signature_2020_verify_the_specifications_examples() {
    for (file, suite) in RDFC {
        let document = vector(file);
        let proof = verify(&document)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(proof.cryptosuite, suite);
        let mut claim = document.clone();
        claim["credentialSubject"]["alumniOf"] = json!("Another School");
        assert!(
            matches!(verify(&claim).await, Err(vc_schemas::Error::InvalidProof)),
            "{file}"
        );
        // RDF does not see JSON member order.
        let mut reordered = serde_json::Map::new();
        for (name, value) in document.as_object().unwrap().iter().rev() {
            reordered.insert(name.clone(), value.clone());
        }
        verify(&Value::Object(reordered)).await.unwrap();
    }
}
