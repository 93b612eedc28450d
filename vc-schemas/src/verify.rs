//! One entry point for every kind of input: a VC or a VP, secured with Data Integrity or as
//! a JWT, from any issuer whose DID resolves. The answer is a [`Verdict`] with reasons.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::did::{KeyResolver, ProofPurpose};
use crate::jsonld::JsonLd;
use crate::model::conformance::Carrier;
use crate::model::{self, DataModel, Kind};
use crate::registry::SchemaRegistry;
use crate::secured::{ProofFormat, Secured};
use crate::{di, jwt, Error};

/// What the verifier expects: its own challenge and domain (presentations) and the time.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub challenge: Option<String>,
    pub domain: Option<String>,
    pub now: DateTime<Utc>,
}

impl VerifyOptions {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            challenge: None,
            domain: None,
            now,
        }
    }
}

/// The verdict on one credential or presentation (and, for a presentation, on each
/// credential inside it).
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub valid: bool,
    pub kind: Option<Kind>,
    /// How the input was secured, spelled `data-integrity` or `jwt`.
    #[serde(serialize_with = "verdict_format")]
    pub format: ProofFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_model: Option<DataModel>,
    /// The issuer (credential) or holder (presentation) whose key signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<String>,
    /// `eddsa-rdfc-2022`, `ecdsa-rdfc-2019`, `EdDSA` or `ES256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    pub types: Vec<String>,
    /// Checks that passed.
    pub checks: Vec<String>,
    /// Why it is not valid (empty when valid).
    pub errors: Vec<String>,
    /// Things not checked, worth knowing.
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Verdict>,
}

impl Verdict {
    fn new(format: ProofFormat) -> Self {
        Self {
            valid: false,
            kind: None,
            format,
            data_model: None,
            signer: None,
            verification_method: None,
            algorithm: None,
            types: Vec::new(),
            checks: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            credentials: Vec::new(),
        }
    }

    fn finish(mut self) -> Self {
        self.valid = self.errors.is_empty() && self.credentials.iter().all(|c| c.valid);
        self
    }
}

/// The verdict's spelling of its `format`, as before the proof formats were one type:
/// `data-integrity` or `jwt`.
fn verdict_format<S: serde::Serializer>(
    format: &ProofFormat,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match format {
        ProofFormat::DataIntegrity => "data-integrity",
        ProofFormat::Jwt => "jwt",
    })
}

/// Verifies credentials and presentations. Holds the JSON-LD context cache: build one and
/// reuse it.
pub struct Verifier<'a> {
    pub resolver: &'a dyn KeyResolver,
    pub jsonld: &'a JsonLd,
    /// The schemas a credential's `credentialSchema` may name ([`crate::registry`]):
    /// [`crate::schema::schemas`] for kura's own, or the repository's registry.
    pub schemas: &'a SchemaRegistry,
}

/// VC-JOSE-COSE §3.2: the members an `EnvelopedVerifiableCredential` or
/// `EnvelopedVerifiablePresentation` may hold. Nobody signed the outer object, so anything else
/// in it (an `issuer`, a `credentialSubject`, a decorative `proof`) would be a claim without a
/// signature: it is refused, never ignored.
const ENVELOPE_MEMBERS: [&str; 3] = ["@context", "id", "type"];

/// The `data:` URL media types of an envelope's `id` (VC-JOSE-COSE §3.2, §6.1), and what each
/// one carries. `vc+ld+json+jwt` / `vp+ld+json+jwt` are the media types of earlier drafts.
const ENVELOPE_MEDIA_TYPES: [(&str, Kind); 4] = [
    ("data:application/vc+jwt,", Kind::Credential),
    ("data:application/vp+jwt,", Kind::Presentation),
    ("data:application/vc+ld+json+jwt,", Kind::Credential),
    ("data:application/vp+ld+json+jwt,", Kind::Presentation),
];

/// The signed content of an enveloped credential or presentation: its compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// What the envelope's `type` says it carries.
    pub kind: Kind,
    /// The compact JWS from the `data:` URL.
    pub jwt: &'a str,
}

/// Opens `document` if it is an envelope (VC DM 2.0 §4.13, VC-JOSE-COSE §3.2): `Ok(None)` when
/// its `type` names no envelope, `Err` when it does but holds more than `@context`, `id` and
/// `type`, or its `id` is not a JWT `data:` URL of the kind the `type` names.
pub fn envelope(document: &Value) -> Result<Option<Envelope<'_>>, Error> {
    let types = model::types_of(document);
    let kind = match (
        types.iter().any(|t| t == "EnvelopedVerifiableCredential"),
        types.iter().any(|t| t == "EnvelopedVerifiablePresentation"),
    ) {
        (false, false) => return Ok(None),
        (true, false) => Kind::Credential,
        (false, true) => Kind::Presentation,
        (true, true) => {
            return Err(Error::Malformed(
                "an envelope is either a credential or a presentation, not both".into(),
            ))
        }
    };
    if let Some(object) = document.as_object() {
        if let Some(extra) = object
            .keys()
            .find(|member| !ENVELOPE_MEMBERS.contains(&member.as_str()))
        {
            return Err(Error::Malformed(format!(
                "an enveloped credential or presentation may hold only `@context`, `id` and \
                 `type` (VC-JOSE-COSE §3.2); `{extra}` is outside what was signed"
            )));
        }
    }
    let id = document.get("id").and_then(Value::as_str).ok_or_else(|| {
        Error::Malformed("an envelope's `id` must be a `data:` URL holding the JWT".into())
    })?;
    let (jwt, carried) = ENVELOPE_MEDIA_TYPES
        .iter()
        .find_map(|(prefix, carried)| id.strip_prefix(prefix).map(|jwt| (jwt, *carried)))
        .ok_or_else(|| {
            Error::Malformed(
                "an envelope's `id` must be a `data:application/vc+jwt,` or \
                 `data:application/vp+jwt,` URL"
                    .into(),
            )
        })?;
    if carried != kind {
        return Err(Error::Malformed(
            "the envelope's `type` and its `data:` media type disagree".into(),
        ));
    }
    Ok(Some(Envelope { kind, jwt }))
}

impl Verifier<'_> {
    /// Verifies `input`. `Err` only when the input is not a credential at all (not JSON,
    /// no VC/VP type); every failure of a credential is in the verdict.
    pub async fn verify(&self, input: &Secured, options: &VerifyOptions) -> Result<Verdict, Error> {
        match input {
            Secured::Json(document) => match envelope(document)? {
                Some(opened) => {
                    let verdict = Box::pin(self.verify_jwt(opened.jwt, options)).await;
                    Ok(envelope_kind_matches(verdict, opened.kind))
                }
                None => {
                    model::kind_of(document)?;
                    Ok(Box::pin(self.verify_data_integrity(document, options)).await)
                }
            },
            Secured::Jwt(token) => Ok(Box::pin(self.verify_jwt(token, options)).await),
        }
    }

    async fn verify_data_integrity(&self, document: &Value, options: &VerifyOptions) -> Verdict {
        let mut verdict = Verdict::new(ProofFormat::DataIntegrity);
        verdict.types = model::types_of(document);
        let kind = match model::kind_of(document) {
            Ok(kind) => kind,
            Err(error) => {
                verdict.errors.push(error.to_string());
                return verdict.finish();
            }
        };
        verdict.kind = Some(kind);
        verdict.data_model = model::data_model_of(document).ok();
        let model_problems = model::conformance::problems(document, Carrier::Document);
        verdict
            .errors
            .extend(model_problems.iter().map(ToString::to_string));
        let purpose = match kind {
            Kind::Credential => ProofPurpose::AssertionMethod,
            Kind::Presentation => ProofPurpose::Authentication,
        };
        let expected_signer = match kind {
            Kind::Credential => model::id_of(document.get("issuer")),
            Kind::Presentation => model::id_of(document.get("holder")),
        };
        match di::verify(document, purpose, options.now, self.resolver, self.jsonld).await {
            Ok(proof) => {
                verdict
                    .checks
                    .push(format!("{} proof verifies", proof.cryptosuite));
                // The proof verified, so its key resolved, which needed a `did#fragment`.
                let controller = match did_methods::DidUrl::parse_verification_method(
                    &proof.verification_method,
                ) {
                    Ok(url) => url.did().to_string(),
                    Err(error) => {
                        verdict.errors.push(error.to_string());
                        proof.verification_method.clone()
                    }
                };
                match expected_signer {
                    Some(expected) if expected != controller => verdict.errors.push(format!(
                        "signed by {controller}, but the {} is {expected}",
                        if kind == Kind::Credential {
                            "issuer"
                        } else {
                            "holder"
                        }
                    )),
                    _ => verdict
                        .checks
                        .push(format!("key is controlled by {controller}")),
                }
                if kind == Kind::Presentation {
                    let domains = proof.domain.clone().unwrap_or_default();
                    check_binding(&mut verdict, options, proof.challenge.as_deref(), &domains);
                }
                verdict.signer = Some(controller);
                verdict.algorithm = Some(proof.cryptosuite);
                verdict.verification_method = Some(proof.verification_method);
            }
            Err(error) => verdict.errors.push(error.to_string()),
        }
        match kind {
            Kind::Credential => {
                self.check_credential_content(&mut verdict, document, options)
                    .await
            }
            Kind::Presentation => {
                self.verify_embedded(&mut verdict, document.get("verifiableCredential"), options)
                    .await
            }
        }
        verdict.finish()
    }

    async fn verify_jwt(&self, token: &str, options: &VerifyOptions) -> Verdict {
        let mut verdict = Verdict::new(ProofFormat::Jwt);
        let (verified, problems) = match jwt::verify(token, options.now, self.resolver).await {
            Ok(result) => result,
            Err(error) => {
                verdict.errors.push(error.to_string());
                return verdict.finish();
            }
        };
        verdict.checks.push(format!(
            "{} signature verifies",
            verified.algorithm.jose_name()
        ));
        verdict.errors.extend(problems);
        verdict.warnings.extend(verified.warnings.iter().cloned());
        verdict.kind = Some(verified.kind);
        verdict.types = model::types_of(&verified.document);
        verdict.data_model = model::data_model_of(&verified.document).ok();
        let model_problems = model::conformance::jwt_problems(&verified.claims, &verified.document);
        verdict
            .errors
            .extend(model_problems.iter().map(ToString::to_string));
        // jwt::verify checked that `kid` is a `did#fragment` of `iss`.
        verdict.signer = did_methods::DidUrl::parse_verification_method(&verified.key_id)
            .ok()
            .map(|url| url.did().to_string());
        verdict.algorithm = Some(verified.algorithm.jose_name().to_owned());
        verdict.verification_method = Some(verified.key_id.clone());
        match verified.kind {
            Kind::Credential => {
                self.check_credential_content(&mut verdict, &verified.document, options)
                    .await
            }
            Kind::Presentation => {
                let text = |name: &str| {
                    verified
                        .claims
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let audiences: Vec<String> = match verified.claims.get("aud") {
                    Some(Value::String(aud)) => vec![aud.clone()],
                    Some(Value::Array(auds)) => auds
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                check_binding(&mut verdict, options, text("nonce").as_deref(), &audiences);
                if let Some(holder) = model::id_of(verified.document.get("holder")) {
                    if Some(holder) != verdict.signer.as_deref() {
                        verdict.errors.push(format!(
                            "`iss` differs from the presentation holder {holder}"
                        ));
                    }
                }
                self.verify_embedded(
                    &mut verdict,
                    verified.document.get("verifiableCredential"),
                    options,
                )
                .await;
            }
        }
        verdict.finish()
    }

    async fn check_credential_content(
        &self,
        verdict: &mut Verdict,
        credential: &Value,
        options: &VerifyOptions,
    ) {
        match model::validity_problems(credential, options.now) {
            Ok(problems) if problems.is_empty() => {
                verdict.checks.push("within its validity period".into())
            }
            Ok(problems) => verdict.errors.extend(problems),
            // A malformed date: the data-model check reported it (VC DM 2.0 §4.9).
            Err(_) => {}
        }
        match self
            .schemas
            .validate_credential(credential, self.jsonld, options.now)
            .await
        {
            Ok(report) => {
                for id in report.checked {
                    verdict.checks.push(format!("matches schema {id}"));
                }
                for id in report.unknown {
                    verdict.warnings.push(format!(
                        "credentialSchema {id} is not in this verifier's registry: not checked"
                    ));
                }
            }
            Err(error) => verdict.errors.push(error.to_string()),
        }
    }

    async fn verify_embedded(
        &self,
        verdict: &mut Verdict,
        credentials: Option<&Value>,
        options: &VerifyOptions,
    ) {
        let items: Vec<&Value> = match credentials {
            None => return,
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single) => vec![single],
        };
        for (index, item) in items.into_iter().enumerate() {
            let embedded_options = VerifyOptions::at(options.now);
            // An envelope is opened by `verify`: its JWT is what is checked.
            let Ok(input) = Secured::try_from(item.clone()) else {
                verdict
                    .errors
                    .push(format!("credential {index}: neither an object nor a JWT"));
                continue;
            };
            let embedded = match self.verify(&input, &embedded_options).await {
                Ok(embedded) => embedded,
                Err(error) => {
                    verdict.errors.push(format!("credential {index}: {error}"));
                    continue;
                }
            };
            if embedded.kind != Some(Kind::Credential) {
                verdict
                    .errors
                    .push(format!("credential {index}: not a verifiable credential"));
            }
            if !embedded.valid {
                verdict
                    .errors
                    .push(format!("credential {index} is not valid"));
            }
            verdict.credentials.push(embedded);
        }
    }
}

/// An envelope's `type` promised a credential or a presentation; the JWT inside must be that.
fn envelope_kind_matches(mut verdict: Verdict, promised: Kind) -> Verdict {
    if verdict.kind.is_some() && verdict.kind != Some(promised) {
        verdict
            .errors
            .push("the envelope's `type` does not match the JWT it carries".into());
        verdict.valid = false;
    }
    verdict
}

/// VC-DI §2.1 / VC DM 1.1 §6.3.1: a presentation is bound to the verifier's challenge
/// (`nonce`) and domain (`aud`). Without an expected value a presentation could be a
/// replay, so the absence of expectations is itself a failure.
fn check_binding(
    verdict: &mut Verdict,
    options: &VerifyOptions,
    challenge: Option<&str>,
    domains: &[String],
) {
    match (&options.challenge, challenge) {
        (Some(expected), Some(found)) if expected == found => verdict.checks.push("challenge matches".into()),
        (Some(expected), Some(found)) => {
            verdict.errors.push(format!("challenge mismatch: expected {expected:?}, found {found:?}"))
        }
        (Some(_), None) => verdict.errors.push("the presentation carries no challenge".into()),
        (None, _) => verdict
            .errors
            .push("no expected challenge given: a presentation only proves freshness against the verifier's challenge".into()),
    }
    match &options.domain {
        Some(expected) if domains.iter().any(|d| d == expected) => {
            verdict.checks.push("domain matches".into())
        }
        Some(expected) if domains.is_empty() => verdict.errors.push(format!(
            "the presentation carries no domain (expected {expected:?})"
        )),
        Some(expected) => verdict.errors.push(format!(
            "domain mismatch: expected {expected:?}, found {domains:?}"
        )),
        None => verdict.errors.push(
            "no expected domain given: a presentation is bound to one verifier's domain".into(),
        ),
    }
}
