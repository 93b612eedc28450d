//! End-to-end tests of the library: issue → verify in both formats and both algorithms,
//! presentations with challenge/domain, and the bad inputs of issue 2.

// Test helpers outside #[test] functions: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use vc_schemas::{
    create_presentation, issue_credential, prepare_presentation, Algorithm, JsonLd, LocalKey,
    OfflineResolver, PresentationOptions, ProofFormat, Secured, Verdict, Verifier, VerifyOptions,
};

mod common;
use common::{key, now};

/// The shared sample licence, without an id and valid until 2030 (what these tests were
/// written with).
fn licence(subject: &str) -> Value {
    vc_schemas::schema::sample_qualification(None, subject, "2030-01-01T00:00:00Z")
}

async fn verify(input: &Secured, options: &VerifyOptions) -> Verdict {
    let jsonld = JsonLd::new();
    Verifier {
        resolver: &OfflineResolver,
        jsonld: &jsonld,
        schemas: vc_schemas::schema::schemas(),
    }
    .verify(input, options)
    .await
    .unwrap()
}

async fn issue(algorithm: Algorithm, format: ProofFormat) -> (LocalKey, Secured) {
    let issuer = key(algorithm, 1);
    let secured = issue_credential(
        licence("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
        &issuer,
        format,
        now(),
        &JsonLd::new(),
    )
    .await
    .unwrap();
    (issuer, secured)
}

#[tokio::test]
async fn credentials_round_trip_in_every_format_and_algorithm() {
    for algorithm in [Algorithm::Ed25519, Algorithm::P256] {
        for format in [ProofFormat::DataIntegrity, ProofFormat::Jwt] {
            let (issuer, secured) = issue(algorithm, format).await;
            let verdict = verify(&secured, &VerifyOptions::at(now())).await;
            assert!(verdict.valid, "{algorithm:?} {format:?}: {verdict:#?}");
            assert_eq!(verdict.signer.as_deref(), Some(issuer.did()));
            assert!(
                verdict.checks.iter().any(|c| c.contains("matches schema")),
                "{verdict:#?}"
            );
            if let Secured::Json(vc) = &secured {
                assert_eq!(vc["issuer"], issuer.did());
                assert_eq!(vc["validFrom"], "2026-01-01T00:00:00Z");
                assert_eq!(vc["proof"]["cryptosuite"], algorithm.cryptosuite());
            }
        }
    }
}

#[tokio::test]
async fn cached_and_uncached_canonicalization_agree() {
    let (_, Secured::Json(vc)) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await else {
        unreachable!()
    };
    let jsonld = JsonLd::new();
    let mut unsecured = vc.clone();
    unsecured.as_object_mut().unwrap().remove("proof");
    let uncached = jsonld.canonicalize_uncached(&unsecured).await.unwrap();
    assert_eq!(jsonld.canonicalize(&unsecured).await.unwrap(), uncached);
    // Second call comes from the cache.
    assert_eq!(jsonld.canonicalize(&unsecured).await.unwrap(), uncached);
    assert!(uncached
        .iter()
        .any(|line| line.contains("Registered Nurse")));
}

#[tokio::test]
async fn expired_and_not_yet_valid_credentials_fail() {
    for format in [ProofFormat::DataIntegrity, ProofFormat::Jwt] {
        let (_, secured) = issue(Algorithm::Ed25519, format).await;
        let later = VerifyOptions::at(now() + Duration::days(365 * 5));
        let verdict = verify(&secured, &later).await;
        assert!(!verdict.valid);
        assert!(
            verdict.errors.iter().any(|e| e.starts_with("expired")),
            "{verdict:#?}"
        );
        let earlier = VerifyOptions::at(now() - Duration::days(1));
        let verdict = verify(&secured, &earlier).await;
        assert!(
            verdict
                .errors
                .iter()
                .any(|e| e.starts_with("not yet valid")),
            "{verdict:#?}"
        );
    }
}

#[tokio::test]
async fn tampered_credentials_fail() {
    let (_, Secured::Json(vc)) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await else {
        unreachable!()
    };
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["qualification"]["licenseNumber"] = json!("RN-999999");
    let verdict = verify(&Secured::Json(tampered), &VerifyOptions::at(now())).await;
    assert!(!verdict.valid);
    assert!(
        verdict.errors.contains(&"invalid proof".to_owned()),
        "{verdict:#?}"
    );

    let (_, Secured::Jwt(token)) = issue(Algorithm::P256, ProofFormat::Jwt).await else {
        unreachable!()
    };
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let verdict = verify(&Secured::Jwt(parts.join(".")), &VerifyOptions::at(now())).await;
    assert!(!verdict.valid, "{verdict:#?}");
}

#[tokio::test]
async fn issuer_must_own_the_key() {
    let (_, Secured::Json(mut vc)) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await
    else {
        unreachable!()
    };
    // Re-sign by someone else but keep the claimed issuer: the issuer check must catch it.
    let mallory = key(Algorithm::Ed25519, 9);
    let claimed = vc["issuer"].clone();
    vc.as_object_mut().unwrap().remove("proof");
    let error = issue_credential(
        vc.clone(),
        &mallory,
        ProofFormat::DataIntegrity,
        now(),
        &JsonLd::new(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("issuer"), "{error}");
    let request = vc_schemas::di::ProofRequest {
        purpose: vc_schemas::ProofPurpose::AssertionMethod,
        created: now(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let forged = vc_schemas::di::sign(vc, &mallory, &request, &JsonLd::new())
        .await
        .unwrap();
    assert_eq!(forged["issuer"], claimed);
    let verdict = verify(&Secured::Json(forged), &VerifyOptions::at(now())).await;
    assert!(!verdict.valid);
    assert!(
        verdict
            .errors
            .iter()
            .any(|e| e.contains("but the issuer is")),
        "{verdict:#?}"
    );
}

/// A presentation with an expiry (a card key's window) verifies up to the last second before
/// it and not from it on, in both formats: the Data Integrity proof's `expires`, the JWT's `exp`.
#[tokio::test]
async fn presentations_verify_throughout_their_window_and_not_after() {
    let holder = key(Algorithm::P256, 3);
    let window = Duration::minutes(10);
    for format in [ProofFormat::DataIntegrity, ProofFormat::Jwt] {
        let (_, credential) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await;
        let vp = vc_schemas::create_presentation(
            std::slice::from_ref(&credential),
            &holder,
            &PresentationOptions::new("c-1", "counter.example", format, now())
                .expiring(Some(now() + window)),
            &JsonLd::new(),
        )
        .await
        .unwrap();
        match &vp {
            Secured::Json(value) => {
                assert_eq!(value["proof"]["expires"], "2026-01-01T00:10:00Z");
            }
            Secured::Jwt(token) => {
                use base64::Engine as _;
                let payload = token.split('.').nth(1).unwrap();
                let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .unwrap();
                let claims: Value = serde_json::from_slice(&payload).unwrap();
                assert_eq!(claims["exp"], (now() + window).timestamp());
            }
        }
        let at = |time: DateTime<Utc>| VerifyOptions {
            challenge: Some("c-1".into()),
            domain: Some("counter.example".into()),
            now: time,
        };
        for offset in [
            Duration::zero(),
            Duration::minutes(5),
            window - Duration::seconds(1),
        ] {
            let verdict = verify(&vp, &at(now() + offset)).await;
            assert!(verdict.valid, "{format:?} at +{offset}: {verdict:#?}");
        }
        for offset in [window, window + Duration::seconds(1), Duration::days(1)] {
            let verdict = verify(&vp, &at(now() + offset)).await;
            assert!(!verdict.valid, "{format:?} at +{offset} must not verify");
            assert!(
                verdict.errors.iter().any(|e| e.contains("expire")),
                "{format:?}: {verdict:#?}"
            );
        }
    }
    // A presentation cannot expire before it is made.
    let (_, credential) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await;
    let error = vc_schemas::create_presentation(
        std::slice::from_ref(&credential),
        &holder,
        &PresentationOptions::new("c-1", "counter.example", ProofFormat::Jwt, now())
            .expiring(Some(now())),
        &JsonLd::new(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("expire"), "{error}");
}

#[tokio::test]
async fn presentations_check_challenge_domain_and_embedded_credentials() {
    let holder = key(Algorithm::Ed25519, 2);
    for format in [ProofFormat::DataIntegrity, ProofFormat::Jwt] {
        let (_, di_vc) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await;
        let (_, jwt_vc) = issue(Algorithm::P256, ProofFormat::Jwt).await;
        let vp = create_presentation(
            &[di_vc.clone(), jwt_vc.clone()],
            &holder,
            &PresentationOptions::new("c-123", "verifier.example", format, now()),
            &JsonLd::new(),
        )
        .await
        .unwrap();
        let good = VerifyOptions {
            challenge: Some("c-123".into()),
            domain: Some("verifier.example".into()),
            now: now(),
        };
        let verdict = verify(&vp, &good).await;
        assert!(verdict.valid, "{format:?}: {verdict:#?}");
        assert_eq!(verdict.credentials.len(), 2);
        assert_eq!(verdict.signer.as_deref(), Some(holder.did()));

        let wrong_challenge = VerifyOptions {
            challenge: Some("c-124".into()),
            ..good.clone()
        };
        let verdict = verify(&vp, &wrong_challenge).await;
        assert!(
            verdict
                .errors
                .iter()
                .any(|e| e.starts_with("challenge mismatch")),
            "{verdict:#?}"
        );
        let wrong_domain = VerifyOptions {
            domain: Some("evil.example".into()),
            ..good.clone()
        };
        let verdict = verify(&vp, &wrong_domain).await;
        assert!(
            verdict
                .errors
                .iter()
                .any(|e| e.starts_with("domain mismatch")),
            "{verdict:#?}"
        );
        let verdict = verify(&vp, &VerifyOptions::at(now())).await;
        assert!(
            !verdict.valid,
            "a presentation without expectations must not pass"
        );
        // An embedded credential that expired makes the presentation invalid.
        let later = VerifyOptions {
            now: now() + Duration::days(365 * 5),
            ..good.clone()
        };
        let verdict = verify(&vp, &later).await;
        assert!(
            !verdict.valid
                && verdict
                    .errors
                    .iter()
                    .any(|e| e.contains("credential 0 is not valid")),
            "{verdict:#?}"
        );
    }
}

#[tokio::test]
async fn unknown_context_is_an_error_not_a_fetch() {
    let issuer = key(Algorithm::Ed25519, 1);
    let mut credential = licence("did:example:bob");
    credential["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://example.com/unknown-context/v1"));
    let error = issue_credential(
        credential,
        &issuer,
        ProofFormat::DataIntegrity,
        now(),
        &JsonLd::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, vc_schemas::Error::UnknownContext(_)),
        "{error}"
    );
}

#[tokio::test]
async fn undefined_terms_are_rejected_not_dropped() {
    let issuer = key(Algorithm::Ed25519, 1);
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:bob", "notInAnyContext": true}
    });
    assert!(issue_credential(
        credential,
        &issuer,
        ProofFormat::DataIntegrity,
        now(),
        &JsonLd::new()
    )
    .await
    .is_err());
}

#[tokio::test]
async fn schema_violations_block_issuance() {
    let issuer = key(Algorithm::Ed25519, 1);
    let mut credential = licence("did:example:bob");
    credential["credentialSubject"]["qualification"]["jurisdiction"] = json!("Japan");
    let error = issue_credential(credential, &issuer, ProofFormat::Jwt, now(), &JsonLd::new())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("/credentialSubject/qualification/jurisdiction"),
        "{error}"
    );
}

#[tokio::test]
async fn garbage_inputs_are_errors() {
    for text in [
        "",
        "not json",
        "[1,2]",
        "{",
        "a.b",
        "a.b.c",
        "{\"type\":\"VerifiableCredential\"}",
        "\"x.y.z\"",
    ] {
        let result = vc_schemas::verify(text, &OfflineResolver, &VerifyOptions::at(now())).await;
        match result {
            Err(_) => {}
            Ok(verdict) => assert!(!verdict.valid, "{text}: {verdict:#?}"),
        }
    }
}

/// A presentation signed later (by the card, patent ST54–56) is byte for byte the one an
/// in-line signer produces: both algorithms are deterministic (RFC 8032, RFC 6979).
/// kura's own Data Integrity signing (VC-DI-EdDSA §3.3, VC-DI-ECDSA §3.4, through the context
/// cache and the document-hash cache) writes the same bytes as ssi's suites, for credentials
/// and presentations, fresh and from the cache, and verifies.
#[tokio::test]
async fn kura_and_ssi_data_integrity_signing_agree() {
    use vc_schemas::di::{self, ProofRequest};
    use vc_schemas::ProofPurpose;
    let (_, credential) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await;
    let Secured::Json(credential) = credential else {
        unreachable!()
    };
    let jsonld = JsonLd::new();
    for algorithm in [Algorithm::Ed25519, Algorithm::P256] {
        let signer = key(algorithm, 5);
        let mut unsigned_credential = licence("did:example:holder");
        unsigned_credential["issuer"] = json!(signer.did());
        let presentation = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": signer.did(),
            "verifiableCredential": [credential.clone()],
        });
        let cases = [
            (
                unsigned_credential,
                ProofRequest {
                    purpose: ProofPurpose::AssertionMethod,
                    created: now(),
                    challenge: None,
                    domain: None,
                    expires: None,
                },
            ),
            (
                presentation,
                ProofRequest {
                    purpose: ProofPurpose::Authentication,
                    created: now(),
                    challenge: Some("c-1"),
                    domain: Some("counter.example"),
                    expires: Some(now() + chrono::Duration::minutes(10)),
                },
            ),
        ];
        for (document, request) in cases {
            let reference = di::sign_with_ssi(document.clone(), &signer, &request, &jsonld)
                .await
                .unwrap();
            // Twice: the second canonical document hash comes from the cache.
            for round in 0..2 {
                let ours = di::sign(document.clone(), &signer, &request, &jsonld)
                    .await
                    .unwrap();
                assert_eq!(
                    ours.to_string(),
                    reference.to_string(),
                    "{algorithm:?} {:?} round {round}",
                    request.purpose
                );
            }
            // A different challenge changes only the proof configuration's hash.
            let other = ProofRequest {
                challenge: Some("c-2"),
                ..request.clone()
            };
            let ours = di::sign(document.clone(), &signer, &other, &jsonld)
                .await
                .unwrap();
            let reference = di::sign_with_ssi(document, &signer, &other, &jsonld)
                .await
                .unwrap();
            assert_eq!(ours.to_string(), reference.to_string(), "{algorithm:?}");
        }
    }
}

#[tokio::test]
async fn prepared_presentations_equal_inline_ones_and_refuse_wrong_signatures() {
    let (_, credential) = issue(Algorithm::Ed25519, ProofFormat::DataIntegrity).await;
    for algorithm in [Algorithm::Ed25519, Algorithm::P256] {
        let holder = key(algorithm, 3);
        for format in [ProofFormat::DataIntegrity, ProofFormat::Jwt] {
            let jsonld = JsonLd::new();
            let options = PresentationOptions::new("c-9", "counter.example", format, now());
            let inline = create_presentation(
                std::slice::from_ref(&credential),
                &holder,
                &options,
                &jsonld,
            )
            .await
            .unwrap();
            let inputs = [credential.clone()];
            let prepare = || {
                prepare_presentation(
                    &inputs,
                    vc_schemas::Signer::public_key(&holder),
                    vc_schemas::Signer::verification_method(&holder).to_owned(),
                    &options,
                    &jsonld,
                )
            };
            let pending = prepare().await.unwrap();
            let signature = vc_schemas::Signer::sign(&holder, pending.message())
                .await
                .unwrap();
            let finished = pending.finish(&signature).unwrap();
            assert_eq!(
                finished.to_text(),
                inline.to_text(),
                "{algorithm:?} {format:?}"
            );

            let pending = prepare().await.unwrap();
            let other = key(algorithm, 4);
            let wrong = vc_schemas::Signer::sign(&other, pending.message())
                .await
                .unwrap();
            assert!(pending.finish(&wrong).is_err(), "another key's signature");
            let pending = prepare().await.unwrap();
            assert!(pending.finish(&[0; 64]).is_err(), "a placeholder signature");
        }
    }
}
