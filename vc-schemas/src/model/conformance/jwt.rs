//! The data-model check of a JWT-secured document. A VC-JWT 1.1 (`vc` / `vp` claim) may leave
//! properties to its registered claims, which VC DM 1.1 §6.3.1 ("JWT Decoding") puts back:
//! `iss` → `issuer` (or `holder`), `jti` → `id`, `sub` → `credentialSubject.id`, and for a
//! VC DM 1.1 credential `nbf` → `issuanceDate`, `exp` → `expirationDate`. kura fills in what the
//! document lacks and checks the result; what the document states is checked as it is (the
//! JWT code checks that `iss` agrees with it). A VC-JOSE-COSE payload is the document itself.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::{problems, Carrier, Violation};
use crate::model::{self, DataModel};

/// Every violation in the document a JWT carried: `document` is the `vc` / `vp` claim, or the
/// payload itself, and `claims` the verified JWT claims.
pub fn jwt_problems(claims: &Map<String, Value>, document: &Value) -> Vec<Violation> {
    let claimed = claims.contains_key("vc") || claims.contains_key("vp");
    if !claimed {
        return problems(document, Carrier::Document);
    }
    problems(&decoded(claims, document), Carrier::JwtClaim)
}

/// VC DM 1.1 §6.3.1 JWT decoding, filling only what the document lacks.
fn decoded(claims: &Map<String, Value>, document: &Value) -> Value {
    let mut document = document.clone();
    let presentation = claims.contains_key("vp");
    let v1 = model::data_model_of(&document).ok() == Some(DataModel::V1);
    let Some(object) = document.as_object_mut() else {
        return document;
    };
    let mut fill = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            object.entry(name).or_insert(value);
        }
    };
    let text = |name: &str| claims.get(name).filter(|v| v.is_string()).cloned();
    fill(if presentation { "holder" } else { "issuer" }, text("iss"));
    fill("id", text("jti"));
    if !presentation && v1 {
        fill("issuanceDate", date_time(claims.get("nbf")));
        fill("expirationDate", date_time(claims.get("exp")));
    }
    if !presentation {
        if let (Some(subject), Some(Value::Object(credential_subject))) =
            (text("sub"), object.get_mut("credentialSubject"))
        {
            credential_subject.entry("id").or_insert(subject);
        }
    }
    document
}

/// A NumericDate (RFC 7519 §2: seconds, possibly fractional) as an XML Schema dateTime.
fn date_time(seconds: Option<&Value>) -> Option<Value> {
    let seconds = seconds?.as_f64()?;
    if !seconds.is_finite() {
        return None;
    }
    // Whole seconds: a fraction below one second changes no validity decision here.
    #[allow(clippy::cast_possible_truncation)]
    let instant = DateTime::<Utc>::from_timestamp(seconds.floor() as i64, 0)?;
    Some(instant.to_rfc3339_opts(SecondsFormat::Secs, true).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_vc_jwt_1_1_credential_takes_issuer_dates_and_subject_from_its_claims() {
        let vc = json!({
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"degree": "BSc"},
        });
        let jwt = claims(json!({
            "iss": "did:example:issuer", "sub": "did:example:subject", "jti": "urn:uuid:1",
            "nbf": 1_700_000_000.0, "exp": 1_800_000_000, "vc": vc,
        }));
        assert_eq!(jwt_problems(&jwt, &vc), Vec::<Violation>::new());
        let decoded = decoded(&jwt, &vc);
        assert_eq!(decoded["issuer"], "did:example:issuer");
        assert_eq!(decoded["issuanceDate"], "2023-11-14T22:13:20Z");
        assert_eq!(decoded["credentialSubject"]["id"], "did:example:subject");
        assert_eq!(decoded["id"], "urn:uuid:1");
    }

    #[test]
    fn without_the_claims_the_1_1_credential_lacks_issuer_and_issuance_date() {
        let vc = json!({
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"degree": "BSc"},
        });
        let found: Vec<String> = jwt_problems(&claims(json!({"vc": vc})), &vc)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("`issuer` is missing") && m.ends_with("(VC DM 1.1 §4.5)")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("`issuanceDate` is missing")
                    && m.ends_with("(VC DM 1.1 §4.6)")),
            "{found:?}"
        );
    }

    #[test]
    fn a_vc_jose_cose_payload_is_checked_as_the_document_it_is() {
        let vp = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": ["eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2ln"],
        });
        let payload = claims(vp.clone());
        let found = jwt_problems(&payload, &vp);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].property, "verifiableCredential[0]");
        assert_eq!(found[0].section, "VC DM 2.0 §4.13");
        // The same list in a VC-JWT 1.1 `vp` claim is that encoding's own form.
        let claimed = claims(json!({"iss": "did:example:holder", "vp": vp}));
        assert!(jwt_problems(&claimed, &vp).is_empty());
    }
}
