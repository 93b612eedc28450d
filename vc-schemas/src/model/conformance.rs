//! The data-model check: every normative MUST of VC DM 2.0 §4 and §5 that a document's JSON
//! shows (and the VC DM 1.1 equivalents for 1.1 input), all problems at once. Each
//! [`Violation`] names the property and the section, e.g. "`validUntil` is before
//! `validFrom` (VC DM 2.0 §4.9)". The table of statements is in `docs/credentials.md`.
//!
//! Applied on issue ([`check_issued`]: `issue_credential`, `create_presentation`, the
//! card-signed presentation) and on verify ([`problems`], [`jwt_problems`]: the verdict's
//! errors, and so at ST82). What needs JSON-LD (undefined terms, contexts that do not load) or
//! a signature is checked elsewhere.
//!
//! # Layout
//! - [`sections`]: which section states each rule, per data model.
//! - `values`: the value checks (URLs, `id`, `type`, language value objects, typed objects).
//! - `properties`: the properties of credentials and presentations (issuer, subjects,
//!   validity, embedded credentials, related resources).
//! - [`datetime`]: XML Schema `dateTime` / `dateTimeStamp`.
//! - [`jwt`]: VC-JWT 1.1 decoding (VC DM 1.1 §6.3.1) before the check.

pub mod datetime;
pub mod jwt;
mod properties;
pub mod sections;
mod values;

use serde_json::{Map, Value};

pub use jwt::jwt_problems;
use sections::Topic;

use crate::jsonld::{CREDENTIALS_V1, CREDENTIALS_V2};
use crate::model::DataModel;
use crate::Error;

/// `https://www.w3.org/ns/credentials/undefined-terms/v2`, which VC DM 2.0 §5.2.1 wants last.
pub const UNDEFINED_TERMS_V2: &str = "https://www.w3.org/ns/credentials/undefined-terms/v2";

/// One normative statement that a document breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where: the property's path, e.g. `credentialStatus[1].type`.
    pub property: String,
    /// What is wrong, e.g. "is before `validFrom`".
    pub message: String,
    /// The section that states the rule, e.g. `VC DM 2.0 §4.9`.
    pub section: &'static str,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {} ({})", self.property, self.message, self.section)
    }
}

/// How the document was carried, which changes one rule: VC-JWT 1.1 (`vc` / `vp` claims,
/// VC DM 1.1 §6.3.1) lists the credentials of a presentation as compact JWT strings, which a
/// JSON document (Data Integrity, or a VC-JOSE-COSE payload) may not (VC DM 2.0 §4.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// A JSON document: Data Integrity, or a VC-JOSE-COSE payload.
    Document,
    /// The `vc` or `vp` claim of a VC-JWT 1.1.
    JwtClaim,
}

impl Carrier {
    /// How kura carries a presentation it signs in `format`: a JWT presentation is a VC-JWT 1.1
    /// `vp` claim (`jwt::presentation_claims_until`).
    pub fn of_presentation(format: crate::ProofFormat) -> Self {
        match format {
            crate::ProofFormat::DataIntegrity => Self::Document,
            crate::ProofFormat::Jwt => Self::JwtClaim,
        }
    }
}

/// Every violation in `document` (a credential or a presentation). A presentation's
/// credentials are checked as shapes (objects, secured, enveloped); their content is checked
/// when each is verified on its own.
pub fn problems(document: &Value, carrier: Carrier) -> Vec<Violation> {
    let mut checker = Checker::new(document, carrier, String::new());
    checker.document(document);
    checker.found
}

/// [`problems`] as an error, and for a presentation the content of every credential embedded
/// as a JSON object too: kura does not sign what it would refuse on verify.
pub fn check_issued(document: &Value, carrier: Carrier) -> Result<(), Error> {
    let mut found = problems(document, carrier);
    if crate::model::types_of(document)
        .iter()
        .any(|t| t == "VerifiablePresentation")
    {
        for (index, item) in objects_in(document.get("verifiableCredential")) {
            let enveloped = crate::model::types_of(item)
                .iter()
                .any(|t| t == "EnvelopedVerifiableCredential");
            if !enveloped {
                let mut checker =
                    Checker::new(item, carrier, format!("verifiableCredential[{index}]."));
                checker.document(item);
                found.extend(checker.found);
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(Error::DataModel(found))
    }
}

/// The objects of a one-or-many value, with their indices (none when it is no object).
fn objects_in(value: Option<&Value>) -> Vec<(usize, &Value)> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_object())
            .collect(),
        Some(item @ Value::Object(_)) => vec![(0, item)],
        _ => Vec::new(),
    }
}

/// The data model of `document` by its first context; V2 when it names neither base context
/// (kura's own, and the one the error then names).
fn model_of(document: &Value) -> DataModel {
    let first = match document.get("@context") {
        Some(Value::Array(contexts)) => contexts.first(),
        other => other,
    };
    match first.and_then(Value::as_str) {
        Some(CREDENTIALS_V1) => DataModel::V1,
        _ => DataModel::V2,
    }
}

struct Checker {
    model: DataModel,
    carrier: Carrier,
    /// Prepended to every property path (an embedded credential's place).
    prefix: String,
    found: Vec<Violation>,
}

impl Checker {
    fn new(document: &Value, carrier: Carrier, prefix: String) -> Self {
        Self {
            model: model_of(document),
            carrier,
            prefix,
            found: Vec::new(),
        }
    }

    /// Records a violation of the statement on `topic`, unless this data model makes none.
    fn report(&mut self, topic: Topic, property: &str, message: impl Into<String>) {
        if let Some(section) = sections::section(self.model, topic) {
            self.found.push(Violation {
                property: format!("{}{property}", self.prefix),
                message: message.into(),
                section,
            });
        }
    }

    fn document(&mut self, document: &Value) {
        let Some(object) = document.as_object() else {
            self.report(
                Topic::Types,
                "type",
                "is missing: the document is not a JSON object",
            );
            return;
        };
        self.contexts(object.get("@context"));
        self.optional_id(Topic::Identifiers, "id", object.get("id"));
        let types = self.types(Topic::Types, "type", object.get("type"));
        let credential = types.iter().any(|t| t == "VerifiableCredential");
        let presentation = types.iter().any(|t| t == "VerifiablePresentation");
        match (credential, presentation) {
            (true, false) => self.credential(object),
            (false, true) => self.presentation(object),
            (true, true) => self.report(
                Topic::Types,
                "type",
                "holds both VerifiableCredential and VerifiablePresentation",
            ),
            (false, false) if !types.is_empty() => self.report(
                Topic::Types,
                "type",
                "must include VerifiableCredential (a credential) or VerifiablePresentation \
                 (a presentation)",
            ),
            (false, false) => {}
        }
        self.typed_objects(object, "termsOfUse", Topic::TermsOfUse, IdRule::Optional);
        if self.model == DataModel::V2 {
            for reserved in ["confidenceMethod", "renderMethod"] {
                self.typed_objects(object, reserved, Topic::Reserved, IdRule::Optional);
            }
        }
    }

    /// VC DM 2.0 §4.3 / 1.1 §4.1, and §5.2.1 for `undefined-terms/v2`.
    fn contexts(&mut self, contexts: Option<&Value>) {
        let base = match self.model {
            DataModel::V2 => CREDENTIALS_V2,
            DataModel::V1 => CREDENTIALS_V1,
        };
        let items: Vec<&Value> = match contexts {
            None => {
                return self.report(
                    Topic::Contexts,
                    "@context",
                    format!("is missing: its first item must be {base}"),
                )
            }
            // JSON-LD reads a lone value as a set of one.
            Some(single @ Value::String(_)) => vec![single],
            Some(Value::Array(items)) => items.iter().collect(),
            Some(_) => {
                return self.report(
                    Topic::Contexts,
                    "@context",
                    "must be an ordered set (a JSON array) of URLs and objects",
                )
            }
        };
        match items.first() {
            None => self.report(
                Topic::Contexts,
                "@context",
                format!("is empty: its first item must be {base}"),
            ),
            Some(first) if first.as_str() == Some(base) => {}
            Some(_) => self.report(
                Topic::Contexts,
                "@context[0]",
                format!("must be {CREDENTIALS_V2} (or {CREDENTIALS_V1} for VC DM 1.1)"),
            ),
        }
        let last = items.len().saturating_sub(1);
        for (index, item) in items.iter().enumerate().skip(1) {
            let property = format!("@context[{index}]");
            match item {
                Value::Object(_) => {}
                Value::String(url) if values::is_url(url) => {
                    if url == UNDEFINED_TERMS_V2 && index != last {
                        self.report(
                            Topic::UndefinedTerms,
                            &property,
                            format!("{UNDEFINED_TERMS_V2} must be the last context"),
                        );
                    }
                }
                Value::String(other) => self.report(
                    Topic::Contexts,
                    &property,
                    format!("{other:?} is not a URL"),
                ),
                _ => self.report(Topic::Contexts, &property, "must be a URL or an object"),
            }
        }
    }

    fn credential(&mut self, object: &Map<String, Value>) {
        if self.model == DataModel::V2 {
            self.names(object);
        }
        self.issuer(object.get("issuer"));
        self.subjects(object.get("credentialSubject"));
        self.validity(object);
        let (status_id, refresh_id) = match self.model {
            DataModel::V2 => (IdRule::Optional, IdRule::Optional),
            DataModel::V1 => (IdRule::Required, IdRule::Required),
        };
        self.typed_objects(object, "credentialStatus", Topic::Status, status_id);
        self.typed_objects(object, "credentialSchema", Topic::Schemas, IdRule::Required);
        self.typed_objects(object, "evidence", Topic::Evidence, IdRule::Optional);
        self.typed_objects(object, "refreshService", Topic::Refresh, refresh_id);
        if self.model == DataModel::V2 {
            self.related_resources(object.get("relatedResource"));
        }
    }

    fn presentation(&mut self, object: &Map<String, Value>) {
        if self.model == DataModel::V2 {
            match object.get("holder") {
                None => {}
                Some(Value::String(url)) => self.url(Topic::Presentations, "holder", url),
                Some(Value::Object(holder)) => {
                    self.required_id(Topic::Presentations, "holder.id", holder.get("id"))
                }
                Some(_) => self.report(
                    Topic::Presentations,
                    "holder",
                    "must be a URL or an object with an `id`",
                ),
            }
        }
        self.embedded_credentials(object.get("verifiableCredential"));
    }
}

/// Whether a typed object's `id` must be there (it is a URL wherever it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdRule {
    Optional,
    Required,
}

#[cfg(test)]
mod tests;
