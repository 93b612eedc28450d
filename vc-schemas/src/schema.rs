//! kura's JSON Schemas (2020-12); their validation is the registry's ([`crate::registry`]).
//!
//! The schemas are embedded (`include_str!`) and compiled once, on first use. A credential
//! names its schema through `credentialSchema` (VC DM 2.0 §4.11,
//! `{"id": <$id>, "type": "JsonSchema"}`); errors point at the failing field with a JSON
//! pointer.

use std::sync::LazyLock;

use serde_json::Value;

pub use crate::registry::SchemaRegistry;

pub use crate::schema_ids::{CARD_BINDING, KNOWN_SCHEMA_IDS, PERSON_IDENTITY, QUALIFICATION};

pub(crate) const DOCUMENTS: [(&str, &str, &str); 3] = [
    (
        PERSON_IDENTITY,
        "PersonIdentityCredential",
        include_str!("../schemas/person-identity-credential.json"),
    ),
    (
        QUALIFICATION,
        "QualificationCredential",
        include_str!("../schemas/qualification-credential.json"),
    ),
    (
        CARD_BINDING,
        "CardBindingCredential",
        include_str!("../schemas/card-binding-credential.json"),
    ),
];

/// An unsigned QualificationCredential (a nurse's licence) for `holder` that meets kura's
/// qualification schema once issued (issuing adds `issuer`): the sample the demo issues and
/// the tests start from. With `id`, the credential's `id` follows its `@context`.
pub fn sample_qualification(id: Option<&str>, holder: &str, valid_until: &str) -> Value {
    let mut credential = serde_json::Map::new();
    credential.insert(
        "@context".into(),
        serde_json::json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://w3id.org/kura/contexts/v1"
        ]),
    );
    if let Some(id) = id {
        credential.insert("id".into(), id.into());
    }
    let rest = serde_json::json!({
        "type": ["VerifiableCredential", "QualificationCredential"],
        "validUntil": valid_until,
        "credentialSubject": {
            "id": holder,
            "qualification": {
                "type": "ProfessionalLicense",
                "qualificationName": "Registered Nurse",
                "licenseNumber": "RN-123456",
                "issuingAuthority": "Ministry of Health, Labour and Welfare",
                "jurisdiction": "JP"
            }
        },
        "credentialSchema": {"id": QUALIFICATION, "type": "JsonSchema"}
    });
    if let Value::Object(rest) = rest {
        credential.extend(rest);
    }
    Value::Object(credential)
}

/// The text of a kura schema, by `$id`.
pub fn schema_document(id: &str) -> Option<&'static str> {
    DOCUMENTS
        .iter()
        .find(|(known, _, _)| *known == id)
        .map(|(_, _, text)| *text)
}

/// The schema id for a credential type name (`PersonIdentityCredential` → its `$id`).
pub fn schema_id_for_type(credential_type: &str) -> Option<&'static str> {
    DOCUMENTS
        .iter()
        .find(|(_, name, _)| *name == credential_type)
        .map(|(id, _, _)| *id)
}

/// kura's own schemas, compiled on first use (the embedded schemas are tested to compile).
/// The owner's schemas are in the repository's registry ([`SchemaRegistry`]), which starts
/// from [`SchemaRegistry::kura`].
pub fn schemas() -> &'static SchemaRegistry {
    static KURA: LazyLock<SchemaRegistry> = LazyLock::new(SchemaRegistry::kura);
    &KURA
}

/// kura's schemas, reporting other schemas as not checked instead of refusing them: for a
/// verifier that keeps no registry of its own (a terminal reading presentations).
pub fn lenient_schemas() -> &'static SchemaRegistry {
    static LENIENT: LazyLock<SchemaRegistry> = LazyLock::new(|| SchemaRegistry::kura().lenient());
    &LENIENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_qualification_meets_its_schema_with_and_without_an_id() {
        let holder = "did:web:alice.example";
        for id in [None, Some("urn:uuid:1")] {
            let mut credential = sample_qualification(id, holder, "2035-01-01T00:00:00Z");
            // Issuing adds the issuer: the sample is complete but for it.
            credential["issuer"] = "did:web:issuer.example".into();
            schemas()
                .validate(QUALIFICATION, &credential)
                .expect("the sample, once issued, meets the qualification schema");
            assert_eq!(credential.get("id").and_then(Value::as_str), id);
            assert_eq!(credential["credentialSubject"]["id"], holder);
        }
    }

    #[test]
    fn all_embedded_schemas_compile_and_match_their_ids() {
        for (id, name, text) in DOCUMENTS {
            let schema: Value = serde_json::from_str(text).unwrap();
            assert_eq!(schema["$id"], id);
            assert_eq!(schema_id_for_type(name), Some(id));
            let (info, document) = schemas().get(id).expect("in kura's registry");
            assert!(info.builtin);
            assert_eq!(document, text);
        }
        assert_eq!(schemas().list().len(), 3);
    }
}
