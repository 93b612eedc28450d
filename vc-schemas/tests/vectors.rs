//! Known-answer vectors (docs/decisions.md, "Issue 11 item 5"): every file in
//! `tests/vectors/` is a credential or presentation, Data Integrity (`.json`) or VC-JWT
//! (`.jwt`), and its name says what verification must answer: `NAME.valid.EXT` verifies,
//! `NAME.invalid.EXT` does not. All are checked with the same options ([`options`]), offline.
//!
//! The files were written by [`write_vectors`] (`cargo nextest run -p vc-schemas --run-ignored
//! only -E 'test(write_vectors)'`) from fixed keys and a fixed clock, and are kept as bytes:
//! a change in signing or canonicalisation that changes what verifies shows up here.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value;
use vc_schemas::{
    create_presentation, issue_credential, Algorithm, JsonLd, LocalKey, OfflineResolver,
    ProofFormat, Secured, Verifier, VerifyOptions,
};

const CHALLENGE: &str = "vector-challenge";
const DOMAIN: &str = "vectors.example";

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn issued_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("a fixed RFC 3339 time")
        .with_timezone(&Utc)
}

/// What every vector is verified with: five minutes after issuance, the vectors' challenge
/// and domain (credentials ignore both).
fn options() -> VerifyOptions {
    VerifyOptions {
        challenge: Some(CHALLENGE.into()),
        domain: Some(DOMAIN.into()),
        now: issued_at() + chrono::Duration::minutes(5),
    }
}

/// The outcome a vector's file name promises: `Some(true)` for `*.valid.*`.
fn expected(name: &str) -> Option<bool> {
    let mut parts = name.rsplit('.');
    let _extension = parts.next()?;
    match parts.next()? {
        "valid" => Some(true),
        "invalid" => Some(false),
        _ => None,
    }
}

#[tokio::test]
async fn every_vector_has_the_outcome_its_name_says() {
    let jsonld = JsonLd::new();
    let verifier = Verifier {
        resolver: &OfflineResolver,
        jsonld: &jsonld,
        schemas: vc_schemas::schema::schemas(),
    };
    let mut names: Vec<String> = std::fs::read_dir(folder())
        .expect("tests/vectors")
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .into_string()
                .expect("a UTF-8 file name")
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the vectors folder holds {names:?}");
    let (mut valid, mut invalid) = (0, 0);
    for name in &names {
        let want = expected(name).unwrap_or_else(|| {
            panic!("{name}: the name ends in neither .valid.EXT nor .invalid.EXT")
        });
        let extension = name
            .rsplit('.')
            .next()
            .expect("a file name has an extension");
        assert!(
            matches!(extension, "json" | "jwt"),
            "{name}: unknown extension"
        );
        let text =
            std::fs::read_to_string(folder().join(name)).expect("a vector file reads as UTF-8");
        // A malformed input is an invalid vector too; a valid one must parse.
        let verdict = match Secured::parse(&text) {
            Ok(input) => verifier.verify(&input, &options()).await,
            Err(error) => Err(error),
        };
        let got = matches!(&verdict, Ok(verdict) if verdict.valid);
        assert_eq!(got, want, "{name}: {verdict:#?}");
        if want {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(valid > 0 && invalid > 0, "{valid} valid, {invalid} invalid");
}

fn key(algorithm: Algorithm, seed: u8) -> LocalKey {
    let key = LocalKey::from_secret_bytes(algorithm, &[seed; 32], String::new())
        .expect("a 32-byte seed is a key");
    let vm = did_methods::did_key_verification_method_id(&vc_schemas::Signer::public_key(&key))
        .to_string();
    key.with_verification_method(vm)
}

fn text_of(secured: &Secured) -> String {
    match secured {
        Secured::Json(value) => {
            serde_json::to_string_pretty(value).expect("JSON serialises") + "\n"
        }
        Secured::Jwt(token) => format!("{token}\n"),
    }
}

/// Flips one character of a JWT's signature.
fn tamper_jwt(token: &str) -> String {
    let (head, signature) = token.rsplit_once('.').expect("a JWT has a signature");
    let mut signature: Vec<char> = signature.chars().collect();
    signature[5] = if signature[5] == 'A' { 'B' } else { 'A' };
    format!("{head}.{}", signature.into_iter().collect::<String>())
}

/// Rewrites the vectors. Ignored: the files are the fixed answers, not output of each run.
#[tokio::test]
#[ignore]
async fn write_vectors() {
    let jsonld = JsonLd::new();
    let holder = key(Algorithm::Ed25519, 7);
    let mut files: Vec<(String, String)> = Vec::new();
    for (algorithm, suite, seed) in [
        (Algorithm::Ed25519, "eddsa", 1),
        (Algorithm::P256, "es256", 2),
    ] {
        let issuer = key(algorithm, seed);
        let subject = vc_schemas::Signer::verification_method(&holder)
            .split('#')
            .next()
            .expect("a did:key verification method has a fragment")
            .to_owned();
        let licence = vc_schemas::test_support::licence("urn:kura:vector:1", &subject);
        for (format, prefix) in [
            (ProofFormat::DataIntegrity, "di"),
            (ProofFormat::Jwt, "jwt"),
        ] {
            let suite = match (prefix, suite) {
                ("di", "es256") => "ecdsa",
                _ => suite,
            };
            let credential =
                issue_credential(licence.clone(), &issuer, format, issued_at(), &jsonld)
                    .await
                    .expect("the sample licence issues");
            let presentation = create_presentation(
                std::slice::from_ref(&credential),
                &holder,
                &vc_schemas::PresentationOptions::new(CHALLENGE, DOMAIN, format, issued_at()),
                &jsonld,
            )
            .await
            .expect("the presentation signs");
            let ext = if prefix == "di" { "json" } else { "jwt" };
            files.push((
                format!("{prefix}-{suite}-credential.valid.{ext}"),
                text_of(&credential),
            ));
            files.push((
                format!("{prefix}-{suite}-presentation.valid.{ext}"),
                text_of(&presentation),
            ));
            let (tampered_credential, tampered_presentation) = match (&credential, &presentation) {
                (Secured::Json(credential), Secured::Json(presentation)) => {
                    let mut credential = credential.clone();
                    credential["credentialSubject"]["qualification"]["licenseNumber"] =
                        Value::from("RN-999999");
                    let mut presentation = presentation.clone();
                    presentation["holder"] = Value::from("did:web:someone.else.example");
                    (Secured::Json(credential), Secured::Json(presentation))
                }
                (Secured::Jwt(credential), Secured::Jwt(presentation)) => (
                    Secured::Jwt(tamper_jwt(credential)),
                    Secured::Jwt(tamper_jwt(presentation)),
                ),
                _ => unreachable!("one format per pass"),
            };
            files.push((
                format!("{prefix}-{suite}-credential-tampered.invalid.{ext}"),
                text_of(&tampered_credential),
            ));
            files.push((
                format!("{prefix}-{suite}-presentation-tampered.invalid.{ext}"),
                text_of(&tampered_presentation),
            ));
        }
    }
    std::fs::create_dir_all(folder()).expect("the vectors folder");
    for (name, text) in files {
        std::fs::write(folder().join(name), text).expect("a vector file writes");
    }
}
