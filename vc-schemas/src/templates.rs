//! Unsigned credential templates (`kura vc new`): for each of kura's types, and for any other
//! type as a generic VC Data Model 2.0 credential. Each template is complete but for what
//! issuing adds (`issuer`, `validFrom`) and the values to replace; issued as it is, it meets
//! its schema and verifies.
//!
//! The generic template uses the credentials v2 context and the W3C examples context
//! (`https://www.w3.org/ns/credentials/examples/v2`), whose `@vocab` defines any term, so that
//! claims of the issuer's own choosing expand; both are among the contexts kura loads offline.

use serde_json::{json, Value};

use crate::jsonld::{CREDENTIALS_V2, KURA_CONTEXT_V1};
use crate::schema::{sample_qualification, CARD_BINDING, PERSON_IDENTITY};

/// The W3C examples context (VC DM 2.0 §C), loaded offline.
pub const EXAMPLES_V2: &str = "https://www.w3.org/ns/credentials/examples/v2";

/// The template for `credential_type` about `holder`, with the id `id` (a `urn:uuid:`).
/// `PersonIdentityCredential`, `QualificationCredential` and `CardBindingCredential` get
/// kura's templates; `generic` becomes an `ExampleCredential`; any other name a generic
/// credential of that type.
pub fn template(credential_type: &str, holder: &str, id: &str) -> Value {
    let kura = |credential_type: &str, schema: &str, subject: Value| {
        json!({
            "@context": [CREDENTIALS_V2, KURA_CONTEXT_V1],
            "id": id,
            "type": ["VerifiableCredential", credential_type],
            "credentialSubject": subject,
            "credentialSchema": {"id": schema, "type": "JsonSchema"}
        })
    };
    match credential_type {
        "PersonIdentityCredential" => kura(
            credential_type,
            PERSON_IDENTITY,
            json!({
                "id": holder,
                "givenName": "Hanako",
                "familyName": "Yamada",
                "birthDate": "1990-04-01",
                "nationality": "JP"
            }),
        ),
        "QualificationCredential" => sample_qualification(Some(id), holder, "2031-03-31T23:59:59Z"),
        "CardBindingCredential" => kura(
            credential_type,
            CARD_BINDING,
            json!({
                "id": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
                "cardIdentityKey": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
                "cardChannelKey": "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
                "holderDid": holder,
                "repositoryEndpoint": "https://kura.example/",
                "repositoryKeyAgreementKey": "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"
            }),
        ),
        other => {
            let credential_type = if other == "generic" {
                "ExampleCredential"
            } else {
                other
            };
            json!({
                "@context": [CREDENTIALS_V2, EXAMPLES_V2],
                "id": id,
                "type": ["VerifiableCredential", credential_type],
                "name": "Example credential",
                "description": "Replace the claims in credentialSubject with your own.",
                "credentialSubject": {
                    "id": holder,
                    "name": "Example claim"
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{issue_credential, Algorithm, LocalKey, OfflineResolver, ProofFormat, Verifier};

    #[tokio::test]
    async fn every_template_issues_and_verifies_in_both_formats() {
        let key = LocalKey::generate(Algorithm::Ed25519, &mut rand_core::OsRng);
        let jsonld = crate::shared_jsonld();
        let now = chrono::Utc::now();
        for credential_type in [
            "PersonIdentityCredential",
            "QualificationCredential",
            "CardBindingCredential",
            "generic",
            "UniversityDegreeCredential",
        ] {
            let unsigned = template(credential_type, "did:example:holder", "urn:uuid:1");
            for format in [ProofFormat::DataIntegrity, ProofFormat::Jwt] {
                let secured = issue_credential(unsigned.clone(), &key, format, now, jsonld)
                    .await
                    .unwrap_or_else(|e| panic!("{credential_type} {format:?}: {e}"));
                let verdict = Verifier {
                    resolver: &OfflineResolver,
                    jsonld,
                    schemas: crate::schema::schemas(),
                }
                .verify(&secured, &crate::VerifyOptions::at(now))
                .await
                .unwrap();
                assert!(
                    verdict.valid,
                    "{credential_type} {format:?}: {:?}",
                    verdict.errors
                );
            }
        }
    }
}
