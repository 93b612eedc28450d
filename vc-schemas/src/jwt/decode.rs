//! Input: which encoding a JWT uses, checked by that encoding's own rules, and the credential
//! or presentation it carries.
//!
//! - `typ` `vc+jwt` / `vp+jwt` (or the earlier drafts' `vc+ld+json+jwt` / `vp+ld+json+jwt`;
//!   with or without `application/`, in any case, RFC 7515 §4.1.9): **VC-JOSE-COSE**. The
//!   payload is the document, of the kind `typ` names, following VC DM 2.0; no `vc`/`vp` claim
//!   (§3.1.3); a `cty` of the other kind is refused; its credentials are enveloped (§3.1.2).
//! - `typ` `JWT` or absent, with a `vc` or `vp` claim: **VC-JWT 1.1** (VC DM 1.1 §6.3.1). The
//!   registered claims are decoded into the document (`iss` → `issuer` / `holder`, `jti` →
//!   `id`, `sub` → `credentialSubject.id`, `nbf` → `issuanceDate`, `exp` → `expirationDate`)
//!   where it lacks them; where it has them, they must agree. A VC DM 2.0 document under
//!   `vc`/`vp` is neither standard encoding; it is what kura wrote before VC-JOSE-COSE and what
//!   repositories hold, so it is accepted, with a warning (`docs/decisions.md`, issue 12 item 5).
//! - `typ` absent, no `vc`/`vp` claim: VC-JOSE-COSE (its `typ` is a SHOULD).
//! - Anything else (`typ` `JWT` with the document as payload, another `typ`) is refused.
//!
//! NumericDate (RFC 7519 §2) is any JSON number of seconds, integer or not: `1795493096.0` is
//! valid (didkit writes those).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::model::{self, DataModel, Kind};
use crate::Error;

/// The JWT encoding of a credential or presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// W3C VC-JOSE-COSE: the payload is the document.
    VcJoseCose,
    /// VC DM 1.1 §6.3.1: the document under `vc` / `vp`.
    VcJwt11,
}

/// What a JWT carries, read by its encoding's rules (nothing verified yet).
#[derive(Debug, Clone)]
pub struct Decoded {
    pub encoding: Encoding,
    pub kind: Kind,
    /// The credential or presentation (VC-JWT 1.1: with its registered claims decoded into it).
    pub document: Value,
    pub warnings: Vec<String>,
}

/// `typ` or `cty` as a lower-case media type without `application/` (RFC 7515 §4.1.9–10).
fn media_type(header: &Value, name: &str) -> Result<Option<String>, Error> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => {
            let lower = value.to_ascii_lowercase();
            Ok(Some(
                lower
                    .strip_prefix("application/")
                    .map(str::to_owned)
                    .unwrap_or(lower),
            ))
        }
        Some(_) => Err(Error::Malformed(format!(
            "the JWT header's `{name}` is not a string"
        ))),
    }
}

/// The encoding and document of a JWT with this `header` and (unverified) `payload`.
pub fn decode(header: &Value, payload: &Value) -> Result<Decoded, Error> {
    if !payload.is_object() {
        return Err(Error::Malformed(
            "the JWT payload is not a JSON object".into(),
        ));
    }
    let typ = media_type(header, "typ")?;
    let wrapped = payload.get("vc").is_some() || payload.get("vp").is_some();
    match typ.as_deref() {
        Some("vc+jwt" | "vc+ld+json+jwt") => jose_cose(header, payload, Some(Kind::Credential)),
        Some("vp+jwt" | "vp+ld+json+jwt") => jose_cose(header, payload, Some(Kind::Presentation)),
        Some("jwt") | None if wrapped => vc_jwt_11(payload),
        None => jose_cose(header, payload, None),
        Some("jwt") => Err(Error::Malformed(
            "`typ` JWT is VC-JWT 1.1, whose payload carries the document under a `vc` or `vp` \
             claim; a payload that is the document itself is VC-JOSE-COSE, `typ` vc+jwt or \
             vp+jwt"
                .into(),
        )),
        Some(other) => Err(Error::Unsupported(format!(
            "JWT `typ` {other:?}: a credential is `vc+jwt`, a presentation `vp+jwt` \
             (VC-JOSE-COSE), or `JWT` with a `vc`/`vp` claim (VC-JWT 1.1)"
        ))),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Credential => "credential",
        Kind::Presentation => "presentation",
    }
}

fn jose_cose(header: &Value, payload: &Value, promised: Option<Kind>) -> Result<Decoded, Error> {
    if let Some(name) = ["vc", "vp"]
        .iter()
        .find(|name| payload.get(**name).is_some())
    {
        return Err(Error::Malformed(format!(
            "a VC-JOSE-COSE JWT (`typ` vc+jwt / vp+jwt) must not have a `{name}` claim \
             (VC-JOSE-COSE §3.1.3): its payload is the document itself"
        )));
    }
    let kind = model::kind_of(payload)?;
    if let Some(promised) = promised.filter(|promised| *promised != kind) {
        return Err(Error::Malformed(format!(
            "the JWT `typ` says {}, but the payload is a {}",
            kind_name(promised),
            kind_name(kind)
        )));
    }
    match (media_type(header, "cty")?.as_deref(), kind) {
        (Some("vp"), Kind::Credential) | (Some("vc"), Kind::Presentation) => {
            return Err(Error::Malformed(format!(
                "the JWT `cty` contradicts its payload, a {}",
                kind_name(kind)
            )))
        }
        _ => {}
    }
    if model::data_model_of(payload)? != DataModel::V2 {
        return Err(Error::Malformed(
            "VC-JOSE-COSE secures VC Data Model 2.0 documents; a VC DM 1.1 document is a \
             VC-JWT 1.1 (`typ` JWT, the document under a `vc` or `vp` claim)"
                .into(),
        ));
    }
    if kind == Kind::Presentation {
        let bare = match payload.get("verifiableCredential") {
            Some(Value::Array(items)) => items.iter().any(Value::is_string),
            Some(item) => item.is_string(),
            None => false,
        };
        if bare {
            return Err(Error::Malformed(
                "a VC-JOSE-COSE presentation embeds JWT credentials as \
                 EnvelopedVerifiableCredential objects (VC-JOSE-COSE §3.1.2), not as strings"
                    .into(),
            ));
        }
    }
    Ok(Decoded {
        encoding: Encoding::VcJoseCose,
        kind,
        document: payload.clone(),
        warnings: Vec::new(),
    })
}

fn vc_jwt_11(payload: &Value) -> Result<Decoded, Error> {
    let (kind, inner) = match (payload.get("vc"), payload.get("vp")) {
        (Some(vc), None) => (Kind::Credential, vc),
        (None, Some(vp)) => (Kind::Presentation, vp),
        _ => {
            return Err(Error::Malformed(
                "a VC-JWT 1.1 carries either a `vc` or a `vp` claim, not both".into(),
            ))
        }
    };
    let mut document = inner.clone();
    let Some(object) = document.as_object_mut() else {
        return Err(Error::Malformed(format!(
            "the `{}` claim is not a JSON object",
            if kind == Kind::Credential { "vc" } else { "vp" }
        )));
    };
    let claims = payload.as_object().cloned().unwrap_or_default();
    let data_model = model::data_model_of(&Value::Object(object.clone()))?;
    decode_claims(object, &claims, kind, data_model)?;
    if model::kind_of(&document)? != kind {
        return Err(Error::Malformed(format!(
            "the `{}` claim does not hold a {}",
            if kind == Kind::Credential { "vc" } else { "vp" },
            kind_name(kind)
        )));
    }
    let mut warnings = Vec::new();
    if data_model == DataModel::V2 {
        warnings.push(
            "a VC Data Model 2.0 document inside VC-JWT 1.1 `vc`/`vp` claims: accepted for \
             compatibility; VC-JOSE-COSE (`typ` vc+jwt / vp+jwt) is the standard encoding"
                .into(),
        );
    }
    Ok(Decoded {
        encoding: Encoding::VcJwt11,
        kind,
        document,
        warnings,
    })
}

/// VC DM 1.1 §6.3.1 decoding: each registered claim sets its member where the document lacks
/// it, and must agree with it where the document has it.
fn decode_claims(
    document: &mut Map<String, Value>,
    claims: &Map<String, Value>,
    kind: Kind,
    data_model: DataModel,
) -> Result<(), Error> {
    let text = |name: &str| -> Result<Option<&str>, Error> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(Error::Malformed(format!(
                "the JWT `{name}` is not a string"
            ))),
        }
    };
    let party = if kind == Kind::Credential {
        "issuer"
    } else {
        "holder"
    };
    if let Some(iss) = text("iss")? {
        set_or_agree(document, party, iss, "iss")?;
    }
    if let Some(jti) = text("jti")? {
        set_or_agree(document, "id", jti, "jti")?;
    }
    if kind == Kind::Presentation {
        return Ok(());
    }
    if let Some(sub) = text("sub")? {
        match document.get_mut("credentialSubject") {
            Some(Value::Object(subject)) => set_or_agree(subject, "id", sub, "sub")?,
            Some(Value::Array(subjects)) => {
                if !subjects.iter().any(|s| model::id_of(Some(s)) == Some(sub)) {
                    return Err(Error::Malformed(format!(
                        "the JWT `sub` {sub} is none of the credential's subjects"
                    )));
                }
            }
            _ => {
                document.insert("credentialSubject".into(), serde_json::json!({"id": sub}));
            }
        }
    }
    let (from, until) = match data_model {
        DataModel::V1 => ("issuanceDate", "expirationDate"),
        DataModel::V2 => ("validFrom", "validUntil"),
    };
    for (claim, member) in [("nbf", from), ("exp", until)] {
        if let Some(time) = numeric_date(claims, claim)? {
            if !document.contains_key(member) {
                document.insert(
                    member.into(),
                    time.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
                );
            }
        }
    }
    Ok(())
}

fn set_or_agree(
    document: &mut Map<String, Value>,
    member: &str,
    value: &str,
    claim: &str,
) -> Result<(), Error> {
    match document.get(member) {
        None => {
            document.insert(member.into(), value.into());
            Ok(())
        }
        Some(present) if model::id_of(Some(present)) == Some(value) => Ok(()),
        Some(_) => Err(Error::Malformed(format!(
            "the JWT `{claim}` {value} disagrees with the document's `{member}` \
             (VC DM 1.1 §6.3.1: `{claim}` represents `{member}`)"
        ))),
    }
}

/// The NumericDate claim `name` (RFC 7519 §2: a JSON number of seconds since the epoch,
/// integer or not), if present; `Err` when it is not a number or out of range.
pub fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, Error> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let not_a_date = || {
        Error::Malformed(format!(
            "`{name}` is not a NumericDate (RFC 7519 §2: a JSON number of seconds)"
        ))
    };
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite())
        .ok_or_else(not_a_date)?;
    // Microseconds: exact for every integer second chrono can hold, and finer than any clock
    // a credential is checked against.
    let micros = (seconds * 1_000_000.0).round();
    if micros.abs() >= i64::MAX as f64 {
        return Err(not_a_date());
    }
    DateTime::from_timestamp_micros(micros as i64)
        .map(Some)
        .ok_or_else(not_a_date)
}
