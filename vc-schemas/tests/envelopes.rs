//! Enveloped credentials (VC DM 2.0 §4.13, VC-JOSE-COSE §3.2): what counts is the JWT inside.
//! The outer object may hold `@context`, `id` (the `data:` URL) and `type` only; anything else
//! would be a claim nobody signed, so it is refused, at the top level and inside presentations.

// Test helpers outside #[test] functions: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use vc_schemas::{
    envelope, issue_credential, jwt, Algorithm, JsonLd, LocalKey, OfflineResolver, ProofFormat,
    Secured, Verifier, VerifyOptions,
};

mod common;

use common::now;

/// An Ed25519 did:key key from the secret `[seed; 32]`.
fn key(seed: u8) -> LocalKey {
    common::key(Algorithm::Ed25519, seed)
}

async fn signed_licence(issuer: &LocalKey, holder: &str) -> String {
    let mut credential = vc_schemas::test_support::licence("urn:kura:envelope:1", holder);
    credential["validUntil"] = json!("2030-01-01T00:00:00Z");
    match issue_credential(credential, issuer, ProofFormat::Jwt, now(), &JsonLd::new())
        .await
        .unwrap()
    {
        Secured::Jwt(token) => token,
        Secured::Json(_) => unreachable!("asked for a JWT"),
    }
}

fn wrap(token: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": format!("data:application/vc+jwt,{token}"),
        "type": "EnvelopedVerifiableCredential",
    })
}

/// The review's attack: the outer object claims another issuer and a forged qualification, and
/// carries a decorative proof.
fn forged(token: &str) -> Value {
    let mut outer = wrap(token);
    let object = outer.as_object_mut().unwrap();
    object.insert("issuer".into(), json!("did:web:government.example"));
    object.insert(
        "credentialSubject".into(),
        json!({"qualification": {"qualificationName": "Surgeon"}}),
    );
    object.insert(
        "proof".into(),
        json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1"}),
    );
    outer
}

async fn verify(
    input: &Secured,
    challenge: Option<&str>,
    domain: Option<&str>,
) -> Result<vc_schemas::Verdict, vc_schemas::Error> {
    let jsonld = JsonLd::new();
    Verifier {
        resolver: &OfflineResolver,
        jsonld: &jsonld,
        schemas: vc_schemas::schema::schemas(),
    }
    .verify(
        input,
        &VerifyOptions {
            challenge: challenge.map(str::to_owned),
            domain: domain.map(str::to_owned),
            now: now(),
        },
    )
    .await
}

#[tokio::test]
async fn a_clean_envelope_verifies_through_its_jwt_and_opens_to_it() {
    let issuer = key(1);
    let token = signed_licence(&issuer, issuer.did()).await;
    let verdict = verify(&Secured::Json(wrap(&token)), None, None)
        .await
        .unwrap();
    assert!(verdict.valid, "{verdict:#?}");
    assert_eq!(verdict.signer.as_deref(), Some(issuer.did()));
    match Secured::Json(wrap(&token)).into_signed().unwrap() {
        Secured::Jwt(inner) => assert_eq!(inner, token),
        Secured::Json(_) => panic!("an envelope opens to its JWT"),
    }
}

#[tokio::test]
async fn every_member_outside_the_signed_jwt_is_refused() {
    let issuer = key(1);
    let token = signed_licence(&issuer, issuer.did()).await;
    for member in ["issuer", "credentialSubject", "proof", "validUntil", "name"] {
        let mut outer = wrap(&token);
        outer[member] = json!("anything");
        let error = envelope(&outer).unwrap_err().to_string();
        assert!(error.contains(&format!("`{member}`")), "{member}: {error}");
        assert!(
            verify(&Secured::Json(outer.clone()), None, None)
                .await
                .is_err(),
            "{member}"
        );
        assert!(Secured::Json(outer).into_signed().is_err(), "{member}");
    }
    let error = verify(&Secured::Json(forged(&token)), None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("VC-JOSE-COSE"), "{error}");
}

#[test]
fn an_envelope_id_must_be_a_jwt_data_url_of_its_kind() {
    for id in [
        json!("urn:uuid:1"),
        json!("data:application/json,{}"),
        json!("data:application/vp+jwt,a.b.c"),
        json!(7),
    ] {
        let outer = json!({"@context": [], "id": id, "type": "EnvelopedVerifiableCredential"});
        assert!(envelope(&outer).is_err(), "{id}");
    }
    let none = json!({"type": ["VerifiableCredential"], "id": "data:application/vc+jwt,a.b.c"});
    assert_eq!(envelope(&none).unwrap(), None);
    let presentation =
        json!({"id": "data:application/vp+jwt,a.b.c", "type": "EnvelopedVerifiablePresentation"});
    assert_eq!(envelope(&presentation).unwrap().unwrap().jwt, "a.b.c");
}

/// A card-signed presentation that carries the forged envelope: the holder's signature covers
/// the outer object, but nobody signed its claims, so the presentation is not valid.
#[tokio::test]
async fn a_presentation_carrying_a_forged_envelope_is_not_valid() {
    let issuer = key(1);
    let holder = key(2);
    let token = signed_licence(&issuer, holder.did()).await;
    let sign = |credential: Value| {
        let holder = &holder;
        async move {
            let presentation = json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiablePresentation"],
                "holder": holder.did(),
                "verifiableCredential": [credential],
            });
            let options = vc_schemas::PresentationOptions::new(
                "n-1",
                "did:key:verifier",
                vc_schemas::ProofFormat::Jwt,
                now(),
            );
            let encoded = jwt::encode::presentation(&presentation, &options).unwrap();
            jwt::sign_compact(&encoded, holder).await.unwrap()
        }
    };
    let clean = verify(
        &Secured::Jwt(sign(wrap(&token)).await),
        Some("n-1"),
        Some("did:key:verifier"),
    )
    .await
    .unwrap();
    assert!(clean.valid, "{clean:#?}");
    let forged = verify(
        &Secured::Jwt(sign(forged(&token)).await),
        Some("n-1"),
        Some("did:key:verifier"),
    )
    .await
    .unwrap();
    assert!(!forged.valid, "{forged:#?}");
    assert!(
        forged
            .errors
            .iter()
            .any(|error| error.contains("outside what was signed")),
        "{:?}",
        forged.errors
    );
}
