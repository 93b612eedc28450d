//! Contexts, offline (issue 12 item 3): every bundled document is the one pinned; an unknown
//! context and an undefined term are errors that say how to fix them; the owner's contexts are
//! checked before they are served; a JWT needs no JSON-LD processing.

// Test helpers outside #[test] functions: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use ssi::json_ld::Loader as _;
use vc_schemas::jsonld::{BUNDLED, UNDEFINED_TERMS_V2};

fn sha256_hex_of(text: &str) -> String {
    vc_schemas::jsonld::bundled::sha256_hex(text.as_bytes())
}
use vc_schemas::{
    issue_credential, jwt, Algorithm, Error, JsonLd, LocalKey, OfflineResolver, ProofFormat,
    Secured, Verifier, VerifyOptions,
};

mod common;

use common::now;

/// An Ed25519 did:key key from the secret `[seed; 32]`.
fn key(seed: u8) -> LocalKey {
    common::key(Algorithm::Ed25519, seed)
}

/// A generic VC DM 2.0 credential with the given contexts after the base context.
fn credential(contexts: &[&str], subject: Value, types: &[&str]) -> Value {
    let mut context = vec![json!("https://www.w3.org/ns/credentials/v2")];
    context.extend(contexts.iter().map(|url| json!(url)));
    let mut type_ = vec![json!("VerifiableCredential")];
    type_.extend(types.iter().map(|name| json!(name)));
    json!({
        "@context": context,
        "id": "urn:uuid:6a3e8f52-0c1d-4f7a-9a55-0f1f2ad1c001",
        "type": type_,
        "credentialSubject": subject,
    })
}

/// `document` issued with Data Integrity by the key of seed 1.
async fn issue_di(document: Value, jsonld: &JsonLd) -> Result<Secured, Error> {
    issue_credential(document, &key(1), ProofFormat::DataIntegrity, now(), jsonld).await
}

async fn verify(jsonld: &JsonLd, secured: &Secured) -> vc_schemas::Verdict {
    Verifier {
        resolver: &OfflineResolver,
        jsonld,
        schemas: vc_schemas::schema::schemas(),
    }
    .verify(secured, &VerifyOptions::at(now()))
    .await
    .unwrap()
}

#[tokio::test]
async fn every_bundled_context_is_the_pinned_document_and_processes() {
    let jsonld = JsonLd::new();
    let mut urls = std::collections::HashSet::new();
    for context in BUNDLED {
        assert!(urls.insert(context.url), "{} is bundled twice", context.url);
        assert_eq!(
            sha256_hex_of(context.text),
            context.sha256,
            "{} ({}) is not the pinned document",
            context.url,
            context.file
        );
        let document: Value = serde_json::from_str(context.text).unwrap();
        assert!(document.get("@context").is_some(), "{}", context.url);
        // Loading and processing it as the only context of a document.
        let lines = jsonld
            .canonicalize(&json!({"@context": context.url, "@id": "urn:kura:test"}))
            .await;
        assert!(lines.is_ok(), "{}: {lines:?}", context.url);
    }
}

#[tokio::test]
async fn the_contexts_from_ssi_are_the_ones_its_static_loader_serves() {
    let ssi_loader = ssi::json_ld::ContextLoader::default();
    let mut compared = 0;
    for context in BUNDLED
        .iter()
        .filter(|context| context.source.starts_with("ssi-contexts"))
    {
        let iri = ssi::json_ld::iref::Iri::new(context.url).unwrap();
        let served = ssi_loader.load(iri).await.unwrap();
        let served: Value = serde_json::from_str(&served.document().to_string()).unwrap();
        let ours: Value = serde_json::from_str(context.text).unwrap();
        assert_eq!(served, ours, "{}", context.url);
        compared += 1;
    }
    assert!(compared >= 30, "{compared}");
}

#[test]
fn docs_contexts_md_lists_every_bundled_context_with_its_hash() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/contexts.md"))
        .unwrap();
    for context in BUNDLED {
        let row = format!("| `{}` |", context.url);
        let line = docs
            .lines()
            .find(|line| line.starts_with(&row))
            .unwrap_or_else(|| panic!("docs/contexts.md has no row for {}", context.url));
        assert!(line.contains(context.sha256), "{line}");
    }
}

#[tokio::test]
async fn the_brief_s_contexts_are_all_bundled() {
    let jsonld = JsonLd::new();
    for url in [
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/v2",
        UNDEFINED_TERMS_V2,
        "https://www.w3.org/ns/credentials/examples/v2",
        "https://w3id.org/security/v1",
        "https://w3id.org/security/v2",
        "https://w3id.org/security/data-integrity/v1",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/security/suites/jws-2020/v1",
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "https://w3id.org/vc/status-list/2021/v1",
        "https://www.w3.org/ns/credentials/status/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ] {
        let (info, _) = jsonld.context(url).unwrap_or_else(|| panic!("{url}"));
        assert_eq!(info.origin, "bundled");
    }
}

#[tokio::test]
async fn an_open_badges_3_credential_issues_and_verifies_offline() {
    let issuer = key(3);
    let jsonld = JsonLd::new();
    let badge = credential(
        &["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        json!({
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.com/achievements/21st-century-skills/teamwork",
                "type": ["Achievement"],
                "name": "Teamwork",
                "criteria": {"narrative": "Team members are nominated for this badge by their peers."}
            }
        }),
        &["OpenBadgeCredential"],
    );
    let secured = issue_credential(badge, &issuer, ProofFormat::DataIntegrity, now(), &jsonld)
        .await
        .unwrap();
    let verdict = verify(&jsonld, &secured).await;
    assert!(verdict.valid, "{verdict:#?}");
}

#[tokio::test]
async fn an_unknown_context_names_itself_and_the_command_that_adds_it() {
    let issuer = key(1);
    let url = "https://example.com/unknown-context/v1";
    let error = issue_credential(
        credential(&[url], json!({"id": "did:example:bob", "name": "Bob"}), &[]),
        &issuer,
        ProofFormat::DataIntegrity,
        now(),
        &JsonLd::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, Error::UnknownContext(ref named) if named == url),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("kura context add {url} FILE")),
        "{message}"
    );

    // Verifying a Data Integrity credential that names it: the same error in the verdict.
    let jsonld = JsonLd::new();
    let signed = issue_credential(
        credential(&[], json!({"id": "did:example:bob", "name": "Bob"}), &[]),
        &issuer,
        ProofFormat::DataIntegrity,
        now(),
        &jsonld,
    )
    .await
    .unwrap();
    let Secured::Json(mut document) = signed else {
        unreachable!("asked for Data Integrity")
    };
    document["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!(url));
    let verdict = verify(&jsonld, &Secured::Json(document)).await;
    assert!(!verdict.valid);
    assert!(
        verdict
            .errors
            .iter()
            .any(|e| e.contains(url) && e.contains("kura context add")),
        "{verdict:#?}"
    );
}

#[tokio::test]
async fn an_undefined_property_is_named_with_where_it_is_and_the_fix() {
    let error = issue_di(
        credential(
            &[],
            json!({"id": "did:example:bob", "qualification": {"name": "Nurse"}}),
            &[],
        ),
        &JsonLd::new(),
    )
    .await
    .unwrap_err();
    match &error {
        Error::UndefinedTerm { term, at } => {
            assert_eq!(term, "qualification");
            assert_eq!(at.as_deref(), Some("/credentialSubject/qualification"));
        }
        other => panic!("{other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("the term `qualification`")
            && message.contains("is not defined by the @context")
            && message.contains(UNDEFINED_TERMS_V2)
            && message.contains("kura context add"),
        "{message}"
    );
}

#[tokio::test]
async fn an_undefined_type_is_named_too() {
    let error = issue_di(
        credential(
            &[],
            json!({"id": "did:example:bob", "name": "Bob"}),
            &["LicenceCredential"],
        ),
        &JsonLd::new(),
    )
    .await
    .unwrap_err();
    match &error {
        Error::UndefinedTerm { term, at } => {
            assert_eq!(term, "LicenceCredential");
            assert_eq!(at.as_deref(), Some("/type/1"));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn the_undefined_terms_context_is_the_documented_fix() {
    let jsonld = JsonLd::new();
    let secured = issue_di(
        credential(
            &[UNDEFINED_TERMS_V2],
            json!({"id": "did:example:bob", "qualification": {"name": "Nurse"}}),
            &["LicenceCredential"],
        ),
        &jsonld,
    )
    .await
    .unwrap();
    let verdict = verify(&jsonld, &secured).await;
    assert!(verdict.valid, "{verdict:#?}");
}

/// The verifier reports an undefined term of a signed credential the same way.
#[tokio::test]
async fn verify_reports_an_undefined_term_by_name() {
    let jsonld = JsonLd::new();
    let secured = issue_di(
        credential(
            &[UNDEFINED_TERMS_V2],
            json!({"id": "did:example:bob", "qualification": {"name": "Nurse"}}),
            &[],
        ),
        &jsonld,
    )
    .await
    .unwrap();
    let Secured::Json(mut document) = secured else {
        unreachable!("asked for Data Integrity")
    };
    document["@context"].as_array_mut().unwrap().pop();
    let verdict = verify(&jsonld, &Secured::Json(document)).await;
    assert!(!verdict.valid);
    assert!(
        verdict.errors.iter().any(|e| e.contains(
            "the term `qualification` (at /credentialSubject/qualification) is not defined"
        )),
        "{verdict:#?}"
    );
}

const LICENCE_CONTEXT_URL: &str = "https://licences.example/contexts/v1";
const LICENCE_CONTEXT: &str = r#"{
  "@context": {
    "@protected": true,
    "LicenceCredential": "https://licences.example/vocab#LicenceCredential",
    "qualification": {"@id": "https://licences.example/vocab#qualification", "@type": "@json"}
  }
}"#;

#[tokio::test]
async fn an_added_context_is_served_at_once_and_pinned() {
    let jsonld = JsonLd::new();
    let document = credential(
        &[LICENCE_CONTEXT_URL],
        json!({"id": "did:example:bob", "qualification": {"name": "Nurse"}}),
        &["LicenceCredential"],
    );
    let before = issue_di(document.clone(), &jsonld).await.unwrap_err();
    assert!(matches!(before, Error::UnknownContext(_)), "{before}");

    let (info, new) = jsonld
        .add_context(LICENCE_CONTEXT_URL, LICENCE_CONTEXT)
        .await
        .unwrap();
    assert!(new);
    assert_eq!(info.origin, "added");
    assert_eq!(info.sha256, sha256_hex_of(LICENCE_CONTEXT));
    let secured = issue_di(document, &jsonld).await.unwrap();
    assert!(verify(&jsonld, &secured).await.valid);

    // The same bytes again: nothing new. Other bytes: refused, the first stays.
    let (_, again) = jsonld
        .add_context(LICENCE_CONTEXT_URL, LICENCE_CONTEXT)
        .await
        .unwrap();
    assert!(!again);
    let changed = LICENCE_CONTEXT.replace("vocab#qualification", "vocab#other");
    let error = jsonld
        .add_context(LICENCE_CONTEXT_URL, &changed)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot be changed"), "{error}");
    assert_eq!(
        jsonld.context(LICENCE_CONTEXT_URL).unwrap().1,
        LICENCE_CONTEXT
    );
    assert!(jsonld
        .contexts()
        .iter()
        .any(|c| c.url == LICENCE_CONTEXT_URL && c.origin == "added"));
}

#[tokio::test]
async fn bad_context_documents_are_refused_with_the_reason() {
    let jsonld = JsonLd::new();
    let url = "https://contexts.example/v1";
    let cases: &[(&str, &str, &str)] = &[
        (url, "not json", "not JSON"),
        (url, "[1, 2]", "`@context` member"),
        (url, r#"{"name": "x"}"#, "`@context` member"),
        (url, r#"{"@context": 5}"#, "does not process"),
        (
            url,
            r#"{"@context": {"name": {"@id": 5}}}"#,
            "does not process",
        ),
        ("urn:example:ctx", r#"{"@context": {}}"#, "http or https"),
        ("not a url", r#"{"@context": {}}"#, "absolute URL"),
        (
            "https://contexts.example/v1#frag",
            r#"{"@context": {}}"#,
            "fragment",
        ),
        (
            "https://www.w3.org/ns/credentials/v2",
            r#"{"@context": {"name": "urn:x"}}"#,
            "cannot be replaced",
        ),
    ];
    for (url, text, reason) in cases {
        let error = jsonld.add_context(url, text).await.unwrap_err();
        assert!(
            matches!(error, Error::InvalidContext { .. }) && error.to_string().contains(reason),
            "{url} {text}: {error}"
        );
        assert!(jsonld.context(url).is_none() || url.starts_with("https://www.w3.org"));
    }
    // Too large.
    let large = format!(
        r#"{{"@context": {{"x": "{}"}}}}"#,
        "a".repeat(vc_schemas::jsonld::MAX_CONTEXT_BYTES)
    );
    let error = jsonld.add_context(url, &large).await.unwrap_err();
    assert!(error.to_string().contains("at most"), "{error}");
    // A context importing one kura does not have names that one.
    let error = jsonld
        .add_context(url, r#"{"@context": ["https://elsewhere.example/ctx"]}"#)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UnknownContext(ref named) if named == "https://elsewhere.example/ctx"),
        "{error}"
    );
    assert!(jsonld.context(url).is_none());
    // A bundled URL with its own document (as JSON) is no change.
    let bundled =
        vc_schemas::jsonld::bundled::bundled("https://www.w3.org/ns/credentials/v2").unwrap();
    let (info, new) = jsonld.add_context(bundled.url, bundled.text).await.unwrap();
    assert!(!new);
    assert_eq!(info.origin, "bundled");
}

/// A JWT-secured credential needs no JSON-LD processing: one whose `@context` names a URL kura
/// has never seen still verifies, and its data-model checks still apply.
#[tokio::test]
async fn a_jwt_with_an_unknown_context_verifies_without_json_ld() {
    let issuer = key(5);
    let did = did_methods::DidUrl::parse_verification_method(
        vc_schemas::Signer::verification_method(&issuer),
    )
    .unwrap()
    .did()
    .to_string();
    let mut document = credential(
        &["https://never-seen.example/contexts/v9"],
        json!({"id": "did:example:bob", "notInAnyContext": true}),
        &["SomethingCredential"],
    );
    document["issuer"] = json!(did);
    document["validFrom"] = json!("2025-01-01T00:00:00Z");
    document["validUntil"] = json!("2030-01-01T00:00:00Z");
    let jsonld = JsonLd::new();
    let token = jwt::sign_compact(&jwt::encode::credential(&document, now()).unwrap(), &issuer)
        .await
        .unwrap();
    let verdict = verify(&jsonld, &Secured::Jwt(token)).await;
    assert!(verdict.valid, "{verdict:#?}");

    // Expired: the data model's validity check still applies.
    document["validUntil"] = json!("2025-06-01T00:00:00Z");
    let token = jwt::sign_compact(&jwt::encode::credential(&document, now()).unwrap(), &issuer)
        .await
        .unwrap();
    let verdict = verify(&jsonld, &Secured::Jwt(token)).await;
    assert!(!verdict.valid, "{verdict:#?}");
}
