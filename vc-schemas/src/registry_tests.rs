//! One test per validation rule of the registry, valid and invalid.

use serde_json::json;

use super::*;
use crate::schema::{schemas, PERSON_IDENTITY};
use crate::{
    issue_credential, Algorithm, LocalKey, OfflineResolver, ProofFormat, Secured, Signer as _,
};

const DEGREE_SCHEMA: &str = "https://schemas.example/degree.json";
const DEGREE_SCHEMA_CREDENTIAL: &str = "https://schemas.example/degree-credential.json";

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn jsonld() -> &'static JsonLd {
    crate::shared_jsonld()
}

fn person() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/kura/contexts/v1"],
        "type": ["VerifiableCredential", "PersonIdentityCredential"],
        "issuer": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:web:alice.example",
            "givenName": "Hanako", "familyName": "Yamada", "birthDate": "1990-04-01"
        },
        "credentialSchema": {"id": PERSON_IDENTITY, "type": "JsonSchema"}
    })
}

fn degree_schema(id: &str) -> Value {
    json!({
        "$schema": JSON_SCHEMA_2020_12,
        "$id": id,
        "type": "object",
        "required": ["credentialSubject"],
        "properties": {
            "credentialSubject": {
                "type": "object",
                "required": ["degree"],
                "properties": {"degree": {"type": "object", "required": ["name"]}}
            }
        }
    })
}

/// A degree credential (examples context) naming `schema` of `kind`.
fn degree(schema: Option<(&str, &str)>) -> Value {
    let mut credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "credentialSubject": {
            "id": "did:web:alice.example",
            "degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"}
        }
    });
    if let Some((id, kind)) = schema {
        credential["credentialSchema"] = json!({"id": id, "type": kind});
    }
    credential
}

fn with_degree_schema() -> SchemaRegistry {
    let mut registry = SchemaRegistry::kura();
    let document = SchemaDocument::parse(&degree_schema(DEGREE_SCHEMA).to_string()).unwrap();
    registry.insert(document, None).unwrap();
    registry
}

/// A JsonSchemaCredential for the degree schema, signed by `key` (eddsa-rdfc-2022).
async fn schema_credential(key: &LocalKey) -> Value {
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": DEGREE_SCHEMA_CREDENTIAL,
        "type": ["VerifiableCredential", "JsonSchemaCredential"],
        "issuer": key.did(),
        "credentialSubject": {
            "id": "https://schemas.example/degree-credential.json#subject",
            "type": "JsonSchema",
            "jsonSchema": degree_schema("https://schemas.example/degree-inner.json")
        }
    });
    match issue_credential(unsigned, key, ProofFormat::DataIntegrity, now(), jsonld())
        .await
        .unwrap()
    {
        Secured::Json(document) => document,
        Secured::Jwt(_) => unreachable!("asked for Data Integrity"),
    }
}

fn key() -> LocalKey {
    LocalKey::generate(Algorithm::Ed25519, &mut rand_core::OsRng)
}

#[tokio::test]
async fn a_kura_credential_validates_against_its_strict_schema() {
    let report = schemas()
        .validate_credential(&person(), jsonld(), now())
        .await
        .unwrap();
    assert_eq!(report.checked, vec![PERSON_IDENTITY.to_owned()]);
}

#[tokio::test]
async fn violations_point_at_the_field() {
    let mut credential = person();
    credential["credentialSubject"]["birthDate"] = json!("1 April 1990");
    let Err(Error::SchemaViolations(violations)) = schemas()
        .validate_credential(&credential, jsonld(), now())
        .await
    else {
        panic!("expected violations");
    };
    assert_eq!(violations[0].pointer, "/credentialSubject/birthDate");
}

#[tokio::test]
async fn a_kura_type_without_its_schema_is_refused() {
    let mut credential = person();
    credential
        .as_object_mut()
        .unwrap()
        .remove("credentialSchema");
    let error = schemas()
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap_err();
    assert!(error.to_string().contains(PERSON_IDENTITY), "{error}");
    // Naming another schema instead of its own is refused the same way.
    let mut credential = person();
    credential["credentialSchema"]["id"] = json!(DEGREE_SCHEMA);
    let error = with_degree_schema()
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap_err();
    assert!(error.to_string().contains(PERSON_IDENTITY), "{error}");
}

#[tokio::test]
async fn a_foreign_credential_without_a_schema_passes_the_schema_step() {
    let report = schemas()
        .validate_credential(&degree(None), jsonld(), now())
        .await
        .unwrap();
    assert_eq!(report, SchemaReport::default());
}

#[tokio::test]
async fn an_unknown_schema_is_refused_with_its_id_and_the_fix() {
    let credential = degree(Some(("https://example.com/other.json", "JsonSchema")));
    let error = schemas()
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownSchema(_)));
    let text = error.to_string();
    assert!(text.contains("https://example.com/other.json"), "{text}");
    assert!(text.contains("kura schema add FILE"), "{text}");
    // A lenient registry reports it as unchecked instead.
    let report = SchemaRegistry::kura()
        .lenient()
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap();
    assert_eq!(report.unknown, vec!["https://example.com/other.json"]);
}

#[tokio::test]
async fn a_schema_type_other_than_json_schema_is_refused() {
    let credential = degree(Some((DEGREE_SCHEMA, "ShaclValidator2017")));
    let error = with_degree_schema()
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("ShaclValidator2017"), "{error}");
}

#[tokio::test]
async fn an_owner_json_schema_validates_and_refuses() {
    let registry = with_degree_schema();
    let credential = degree(Some((DEGREE_SCHEMA, "JsonSchema")));
    let report = registry
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap();
    assert_eq!(report.checked, vec![DEGREE_SCHEMA]);
    let mut broken = credential.clone();
    broken["credentialSubject"]["degree"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let Err(Error::SchemaViolations(violations)) =
        registry.validate_credential(&broken, jsonld(), now()).await
    else {
        panic!("expected violations");
    };
    assert_eq!(violations[0].pointer, "/credentialSubject/degree");
    // Named as a JsonSchemaCredential, a plain JSON Schema is the wrong kind.
    let wrong_kind = degree(Some((DEGREE_SCHEMA, "JsonSchemaCredential")));
    let error = registry
        .validate_credential(&wrong_kind, jsonld(), now())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("JsonSchemaCredential"),
        "{error}"
    );
}

#[test]
fn documents_other_than_2020_12_with_an_id_are_refused() {
    let mut draft7 = degree_schema(DEGREE_SCHEMA);
    draft7["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    let error = SchemaDocument::parse(&draft7.to_string()).unwrap_err();
    assert!(error.to_string().contains("2020-12"), "{error}");

    let mut no_draft = degree_schema(DEGREE_SCHEMA);
    no_draft.as_object_mut().unwrap().remove("$schema");
    assert!(SchemaDocument::parse(&no_draft.to_string()).is_err());

    let mut no_id = degree_schema(DEGREE_SCHEMA);
    no_id.as_object_mut().unwrap().remove("$id");
    let error = SchemaDocument::parse(&no_id.to_string()).unwrap_err();
    assert!(error.to_string().contains("$id"), "{error}");

    assert!(SchemaDocument::parse("not json").is_err());
    // `#` at the end of the draft URI is the same draft.
    let mut with_fragment = degree_schema(DEGREE_SCHEMA);
    with_fragment["$schema"] = json!(format!("{JSON_SCHEMA_2020_12}#"));
    assert!(SchemaDocument::parse(&with_fragment.to_string()).is_ok());
}

#[test]
fn ids_are_pinned_to_one_document_and_kura_ids_are_kept() {
    let mut registry = with_degree_schema();
    let text = degree_schema(DEGREE_SCHEMA).to_string();
    let document = SchemaDocument::parse(&text).unwrap();
    assert_eq!(
        document.info.sha256,
        hex(&sha2::Sha256::digest(text.as_bytes()))
    );
    // The same document again: accepted, nothing changes.
    let info = registry.insert(document, None).unwrap();
    assert_eq!(registry.get(DEGREE_SCHEMA).unwrap().0, &info);
    // Another document under the same id: refused.
    let mut other = degree_schema(DEGREE_SCHEMA);
    other["title"] = json!("changed");
    let error = registry
        .insert(SchemaDocument::parse(&other.to_string()).unwrap(), None)
        .unwrap_err();
    assert!(error.to_string().contains("another document"), "{error}");
    // One of kura's ids: refused.
    let collision = degree_schema(PERSON_IDENTITY);
    let error = registry
        .insert(SchemaDocument::parse(&collision.to_string()).unwrap(), None)
        .unwrap_err();
    assert!(error.to_string().contains("kura's own"), "{error}");
    assert_eq!(registry.list().len(), 4);
    assert!(registry.list()[..3].iter().all(|info| info.builtin));
}

#[tokio::test]
async fn a_json_schema_credential_with_a_good_proof_validates_by_its_inner_schema() {
    let issuer = key();
    let document = schema_credential(&issuer).await;
    let parsed = SchemaDocument::parse(&document.to_string()).unwrap();
    assert_eq!(parsed.info.id, DEGREE_SCHEMA_CREDENTIAL);
    assert_eq!(parsed.info.kind, SchemaKind::JsonSchemaCredential);
    // Without its verified key it is not accepted.
    assert!(SchemaRegistry::kura().insert(parsed.clone(), None).is_err());
    let pinned = parsed
        .verify_proof(&OfflineResolver, jsonld(), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pinned.verification_method, issuer.verification_method());
    let mut registry = SchemaRegistry::kura();
    registry.insert(parsed, Some(pinned)).unwrap();

    let credential = degree(Some((DEGREE_SCHEMA_CREDENTIAL, "JsonSchemaCredential")));
    let report = registry
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap();
    assert_eq!(report.checked, vec![DEGREE_SCHEMA_CREDENTIAL]);
    let mut broken = credential;
    broken["credentialSubject"]
        .as_object_mut()
        .unwrap()
        .remove("degree");
    assert!(matches!(
        registry.validate_credential(&broken, jsonld(), now()).await,
        Err(Error::SchemaViolations(_))
    ));
}

#[tokio::test]
async fn a_json_schema_credential_with_a_tampered_proof_is_refused() {
    let mut document = schema_credential(&key()).await;
    // Loosen the schema after signing: the proof no longer covers it.
    document["credentialSubject"]["jsonSchema"]["required"] = json!([]);
    let parsed = SchemaDocument::parse(&document.to_string()).unwrap();
    let error = parsed
        .verify_proof(&OfflineResolver, jsonld(), now())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("proof does not verify"),
        "{error}"
    );
}

#[tokio::test]
async fn a_json_schema_credential_is_verified_again_at_use() {
    let document = schema_credential(&key()).await;
    let parsed = SchemaDocument::parse(&document.to_string()).unwrap();
    // A pinned key that is not the one that signed (a store edited behind kura's back).
    let other = key();
    let pinned = PinnedKey {
        verification_method: parsed
            .verify_proof(&OfflineResolver, jsonld(), now())
            .await
            .unwrap()
            .unwrap()
            .verification_method,
        public_key_multibase: other.public_key().to_multibase(),
    };
    let mut registry = SchemaRegistry::kura();
    registry.insert(parsed, Some(pinned)).unwrap();
    let credential = degree(Some((DEGREE_SCHEMA_CREDENTIAL, "JsonSchemaCredential")));
    let error = registry
        .validate_credential(&credential, jsonld(), now())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("proof does not verify"),
        "{error}"
    );
}
