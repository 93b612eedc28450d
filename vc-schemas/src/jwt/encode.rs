//! Output: a credential or presentation as a JWT header `typ` and payload, by its data model.
//!
//! - VC Data Model 2.0: **VC-JOSE-COSE** (W3C Recommendation, §3.1.1 / §3.1.2): `typ`
//!   `vc+jwt` / `vp+jwt`, and the payload is the document itself. The JWT claim names `vc` and
//!   `vp` MUST NOT be present (§3.1.3). A presentation carries its binding as the registered
//!   claims OpenID4VP 1.0 (§B.1.3.1.5) names: `nonce` = the verifier's challenge, `aud` = its
//!   domain (client identifier), with `iat` and, when it expires, `exp` (VC-JOSE-COSE §3.1.3:
//!   the signature's issuance and expiry). `nbf` is not written (§3.1.3: NOT RECOMMENDED).
//! - VC Data Model 1.1: **VC-JWT 1.1** (VC DM 1.1 §6.3.1): `typ` `JWT`, the document under
//!   the `vc` / `vp` claim, in addition to the registered claims that represent its members
//!   (`iss`, `sub`, `jti`, `nbf`, `exp`; `aud` and `nonce` for a presentation).

use serde_json::{json, Map, Value};

use crate::issue::PresentationOptions;
use crate::model::{self, DataModel};
use crate::Error;

/// What is signed: the header's `typ` and the JWT payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub typ: &'static str,
    pub payload: Value,
}

/// The JWT claim names VC-JOSE-COSE §3.1.3 forbids, and the binding claims kura writes into a
/// VC-JOSE-COSE presentation: a document that already holds one of them as a member would
/// make the payload ambiguous, so it is refused rather than overwritten.
const CLAIMS_KURA_WRITES: [&str; 6] = ["vc", "vp", "nonce", "aud", "iat", "exp"];

fn refuse_claim_members(document: &Value, names: &[&str]) -> Result<(), Error> {
    match names.iter().find(|name| document.get(**name).is_some()) {
        Some(name) => Err(Error::Malformed(format!(
            "the document has a member `{name}`, which is a JWT claim of its encoding \
             (VC-JOSE-COSE §3.1.3): remove it before securing it as a JWT"
        ))),
        None => Ok(()),
    }
}

/// The JWT of a credential issued at `now`.
pub fn credential(
    credential: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Encoded, Error> {
    match model::data_model_of(credential)? {
        DataModel::V2 => {
            refuse_claim_members(credential, &["vc", "vp"])?;
            Ok(Encoded {
                typ: super::TYP_CREDENTIAL,
                payload: credential.clone(),
            })
        }
        DataModel::V1 => Ok(Encoded {
            typ: super::TYP_VC_JWT_11,
            payload: credential_claims_v11(credential, now)?,
        }),
    }
}

/// VC DM 1.1 §6.3.1 claims for a credential, `iat` = `now`; `vc` is the whole credential.
fn credential_claims_v11(
    credential: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, Error> {
    let mut claims = Map::new();
    let issuer = model::id_of(credential.get("issuer"))
        .ok_or_else(|| Error::Malformed("the credential has no issuer".into()))?;
    claims.insert("iss".into(), issuer.into());
    if let Some(subject) = model::id_of(credential.get("credentialSubject")) {
        claims.insert("sub".into(), subject.into());
    }
    if let Some(id) = credential.get("id").and_then(Value::as_str) {
        claims.insert("jti".into(), id.into());
    }
    let (not_before, expires) = model::validity_seconds(credential)?;
    if let Some(nbf) = not_before {
        claims.insert("nbf".into(), nbf.into());
    }
    if let Some(exp) = expires {
        claims.insert("exp".into(), exp.into());
    }
    claims.insert("iat".into(), now.timestamp().into());
    claims.insert("vc".into(), credential.clone());
    Ok(Value::Object(claims))
}

/// The JWT of a presentation made with `options` (challenge, domain, time, expiry). The
/// holder is the presentation's `holder`.
pub fn presentation(presentation: &Value, options: &PresentationOptions) -> Result<Encoded, Error> {
    let holder = model::id_of(presentation.get("holder"))
        .ok_or_else(|| Error::Malformed("the presentation has no holder".into()))?;
    let now = options.now.timestamp();
    match model::data_model_of(presentation)? {
        DataModel::V2 => {
            refuse_claim_members(presentation, &CLAIMS_KURA_WRITES)?;
            let mut payload = presentation.clone();
            let object = payload
                .as_object_mut()
                .ok_or_else(|| Error::Malformed("a presentation is a JSON object".into()))?;
            object.insert("nonce".into(), options.challenge.into());
            object.insert("aud".into(), options.domain.into());
            object.insert("iat".into(), now.into());
            if let Some(expires) = options.expires {
                object.insert("exp".into(), expires.timestamp().into());
            }
            Ok(Encoded {
                typ: super::TYP_PRESENTATION,
                payload,
            })
        }
        DataModel::V1 => {
            let mut claims = json!({
                "iss": holder,
                "aud": options.domain,
                "nonce": options.challenge,
                "iat": now,
                "nbf": now,
                "vp": presentation,
            });
            if let Some(id) = presentation.get("id").and_then(Value::as_str) {
                claims["jti"] = id.into();
            }
            if let Some(expires) = options.expires {
                claims["exp"] = expires.timestamp().into();
            }
            Ok(Encoded {
                typ: super::TYP_VC_JWT_11,
                payload: claims,
            })
        }
    }
}
