//! The schema registry (W3C VC JSON Schema; DESIGN P7): kura's own schemas plus the ones the
//! owner adds, each pinned by the SHA-256 of its document. Nothing is ever fetched: a
//! credential naming a schema the registry lacks is refused with a problem that names it.
//!
//! Sans-IO: the agent reads the documents from its store and feeds them in. A document is
//! either
//! - a JSON Schema 2020-12 with an `$id` (`credentialSchema.type` `JsonSchema`), or
//! - a `JsonSchemaCredential` (VC JSON Schema §3.2): a credential whose `credentialSubject`
//!   has `type: JsonSchema` and holds the schema in `jsonSchema`; its id is the credential's
//!   `id`. Its Data Integrity proof is verified when it is added (any [`KeyResolver`]: the
//!   agent passes its general one) and again at every use, against the key that verified it
//!   then ([`PinnedKey`]), so that using it never resolves a DID.
//!
//! Validation rules ([`SchemaRegistry::validate_credential`]):
//! - every `credentialSchema` entry has type `JsonSchema` or `JsonSchemaCredential`, names a
//!   schema of the registry of that kind, and the credential validates against it;
//! - a credential of one of kura's types names its strict schema;
//! - a credential without `credentialSchema` passes this step.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;

use crate::did::{KeyResolver, ProofPurpose};
use crate::error::SchemaViolation;
use crate::jsonld::JsonLd;
use crate::{di, model, Error};

/// `$schema` of JSON Schema 2020-12, the one draft the registry accepts.
pub const JSON_SCHEMA_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// How a schema is named in `credentialSchema.type` (VC JSON Schema §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaKind {
    JsonSchema,
    JsonSchemaCredential,
}

impl SchemaKind {
    /// The `credentialSchema.type` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::JsonSchema => "JsonSchema",
            Self::JsonSchemaCredential => "JsonSchemaCredential",
        }
    }

    fn of(name: &str) -> Option<Self> {
        [Self::JsonSchema, Self::JsonSchemaCredential]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// What the registry says about one schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SchemaInfo {
    /// The schema's id: the JSON Schema's `$id`, or the JsonSchemaCredential's `id`.
    pub id: String,
    /// SHA-256 of the document as added, lower-case hex.
    pub sha256: String,
    pub kind: SchemaKind,
    /// One of kura's own schemas (built in, not removable).
    pub builtin: bool,
}

/// The key that verified a JsonSchemaCredential when it was added: its proof is checked
/// against it at every use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedKey {
    pub verification_method: String,
    pub public_key_multibase: String,
}

/// A schema document read and checked, not yet in a registry (for a JsonSchemaCredential,
/// its proof not yet verified: [`SchemaDocument::verify_proof`]).
#[derive(Debug, Clone)]
pub struct SchemaDocument {
    pub info: SchemaInfo,
    /// The document as added (what the SHA-256 covers).
    pub text: String,
    schema: Value,
    credential: Option<Value>,
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::InvalidSchema(detail.into())
}

impl SchemaDocument {
    /// Reads `text` as a JSON Schema 2020-12 with an `$id`, or as a JsonSchemaCredential.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let document: Value =
            serde_json::from_str(text).map_err(|error| invalid(format!("not JSON: {error}")))?;
        let sha256 = hex(&sha2::Sha256::digest(text.as_bytes()));
        let is_credential = model::types_of(&document)
            .iter()
            .any(|t| t == "JsonSchemaCredential");
        let (id, kind, schema, credential) = if is_credential {
            let id = model::id_of(document.get("id"))
                .ok_or_else(|| {
                    invalid("a JsonSchemaCredential needs an `id`: it is the schema's id")
                })?
                .to_owned();
            let subject = document
                .get("credentialSubject")
                .filter(|subject| model::types_of(subject).iter().any(|t| t == "JsonSchema"))
                .ok_or_else(|| {
                    invalid("a JsonSchemaCredential's credentialSubject has `type: JsonSchema` (VC JSON Schema §3.2)")
                })?;
            let schema = subject
                .get("jsonSchema")
                .filter(|schema| schema.is_object())
                .cloned()
                .ok_or_else(|| {
                    invalid("a JsonSchemaCredential's credentialSubject holds the schema in `jsonSchema`")
                })?;
            check_draft(&schema)?;
            (id, SchemaKind::JsonSchemaCredential, schema, Some(document))
        } else {
            check_draft(&document)?;
            let id = document
                .get("$id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| invalid("a JSON Schema needs an `$id`: credentials name it by it"))?
                .to_owned();
            (id, SchemaKind::JsonSchema, document, None)
        };
        Ok(Self {
            info: SchemaInfo {
                id,
                sha256,
                kind,
                builtin: false,
            },
            text: text.to_owned(),
            schema,
            credential,
        })
    }

    /// Verifies a JsonSchemaCredential's proof with `resolver` and returns the key that
    /// verified it; `Ok(None)` for a plain JSON Schema.
    pub async fn verify_proof(
        &self,
        resolver: &dyn KeyResolver,
        jsonld: &JsonLd,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<PinnedKey>, Error> {
        let Some(credential) = &self.credential else {
            return Ok(None);
        };
        let method = verify_schema_credential(credential, resolver, jsonld, now).await?;
        let key = resolver
            .resolve_key(&method, ProofPurpose::AssertionMethod)
            .await?;
        Ok(Some(PinnedKey {
            verification_method: method,
            public_key_multibase: key.to_multibase(),
        }))
    }
}

/// `$schema` must be 2020-12 (with or without the empty fragment).
fn check_draft(schema: &Value) -> Result<(), Error> {
    match schema.get("$schema").and_then(Value::as_str) {
        Some(draft) if draft.trim_end_matches('#') == JSON_SCHEMA_2020_12 => Ok(()),
        Some(other) => Err(invalid(format!(
            "`$schema` is {other}; kura accepts JSON Schema 2020-12 ({JSON_SCHEMA_2020_12}) only"
        ))),
        None => Err(invalid(format!(
            "no `$schema`: kura accepts JSON Schema 2020-12 (\"$schema\": \"{JSON_SCHEMA_2020_12}\") only"
        ))),
    }
}

/// The schema credential's proof, validity and issuer; returns the verification method.
async fn verify_schema_credential(
    credential: &Value,
    resolver: &dyn KeyResolver,
    jsonld: &JsonLd,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, Error> {
    let id = model::id_of(credential.get("id")).unwrap_or_default();
    let refuse = |detail: String| invalid(format!("JsonSchemaCredential {id}: {detail}"));
    let proof = di::verify(
        credential,
        ProofPurpose::AssertionMethod,
        now,
        resolver,
        jsonld,
    )
    .await
    .map_err(|error| refuse(format!("its proof does not verify: {error}")))?;
    let signer = did_methods::DidUrl::parse_verification_method(&proof.verification_method)
        .map(|url| url.did().to_string())
        .map_err(|error| refuse(error.to_string()))?;
    let issuer = model::id_of(credential.get("issuer"));
    if issuer != Some(signer.as_str()) {
        return Err(refuse(format!(
            "signed by {signer}, but its issuer is {}",
            issuer.unwrap_or("missing")
        )));
    }
    let problems = model::validity_problems(credential, now)?;
    if !problems.is_empty() {
        return Err(refuse(problems.join("; ")));
    }
    Ok(proof.verification_method)
}

/// Resolves only the pinned key.
struct Pinned<'a>(&'a PinnedKey);

#[async_trait::async_trait]
impl KeyResolver for Pinned<'_> {
    async fn resolve_key(
        &self,
        verification_method: &str,
        _purpose: ProofPurpose,
    ) -> Result<did_methods::PublicKey, Error> {
        if verification_method != self.0.verification_method {
            return Err(Error::Resolution(format!(
                "{verification_method} is not the key that verified this schema credential when it was added"
            )));
        }
        Ok(did_methods::PublicKey::from_multibase(
            &self.0.public_key_multibase,
        )?)
    }
}

struct Entry {
    info: SchemaInfo,
    text: String,
    validator: jsonschema::Validator,
    /// A JsonSchemaCredential and the key that verified it.
    credential: Option<(Value, PinnedKey)>,
}

/// What [`SchemaRegistry::validate_credential`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaReport {
    /// The schema ids the credential validated against.
    pub checked: Vec<String>,
    /// Schema ids the registry lacks, when it is [`SchemaRegistry::lenient`] (else an error).
    pub unknown: Vec<String>,
}

/// kura's schemas plus the owner's, compiled.
pub struct SchemaRegistry {
    entries: BTreeMap<String, Entry>,
    /// Unknown schemas are reported in [`SchemaReport::unknown`] instead of refused.
    lenient: bool,
}

impl SchemaRegistry {
    /// kura's three schemas only.
    pub fn kura() -> Self {
        let mut registry = Self {
            entries: BTreeMap::new(),
            lenient: false,
        };
        for (id, _, text) in crate::schema::DOCUMENTS {
            let document = SchemaDocument::parse(text)
                .unwrap_or_else(|error| panic!("embedded schema {id}: {error}"));
            let validator = compile(&document.schema)
                .unwrap_or_else(|error| panic!("embedded schema {id}: {error}"));
            let mut info = document.info;
            info.builtin = true;
            registry.entries.insert(
                id.to_owned(),
                Entry {
                    info,
                    text: text.to_owned(),
                    validator,
                    credential: None,
                },
            );
        }
        registry
    }

    /// This registry, reporting schemas it lacks as [`SchemaReport::unknown`] instead of
    /// refusing them (a terminal reading presentations: it keeps no registry of its own).
    pub fn lenient(mut self) -> Self {
        self.lenient = true;
        self
    }

    /// Adds `document`. A JsonSchemaCredential needs the key that verified its proof
    /// ([`SchemaDocument::verify_proof`]). Refused: an id of kura's own schemas, an id already
    /// added with another document, a schema that does not compile. Adding the same document
    /// again is accepted and changes nothing.
    pub fn insert(
        &mut self,
        document: SchemaDocument,
        pinned: Option<PinnedKey>,
    ) -> Result<SchemaInfo, Error> {
        let id = document.info.id.clone();
        if let Some(existing) = self.entries.get(&id) {
            if existing.info.builtin {
                return Err(invalid(format!(
                    "{id} is one of kura's own schemas and cannot be replaced"
                )));
            }
            if existing.info.sha256 != document.info.sha256 {
                return Err(invalid(format!(
                    "{id} is already in the registry with another document (SHA-256 {}); \
                     a schema id names one document",
                    existing.info.sha256
                )));
            }
            return Ok(existing.info.clone());
        }
        let credential = match (document.credential, pinned) {
            (Some(credential), Some(pinned)) => Some((credential, pinned)),
            (Some(_), None) => {
                return Err(invalid(format!(
                    "JsonSchemaCredential {id}: its proof was not verified"
                )))
            }
            (None, _) => None,
        };
        let validator = compile(&document.schema)?;
        let info = document.info;
        self.entries.insert(
            id,
            Entry {
                info: info.clone(),
                text: document.text,
                validator,
                credential,
            },
        );
        Ok(info)
    }

    /// Every schema, kura's first, then by id.
    pub fn list(&self) -> Vec<&SchemaInfo> {
        let mut list: Vec<&SchemaInfo> = self.entries.values().map(|entry| &entry.info).collect();
        list.sort_by_key(|info| !info.builtin);
        list
    }

    /// One schema and its document as added.
    pub fn get(&self, id: &str) -> Option<(&SchemaInfo, &str)> {
        self.entries
            .get(id)
            .map(|entry| (&entry.info, entry.text.as_str()))
    }

    /// Validates `credential` against the schema `id` (no proof check: for issuing against
    /// kura's own schemas).
    pub fn validate(&self, id: &str, credential: &Value) -> Result<(), Error> {
        let entry = self
            .entries
            .get(id)
            .ok_or_else(|| Error::UnknownSchema(id.to_owned()))?;
        violations(&entry.validator, credential)
    }

    /// Applies the rules of the module docs to `credential`. A JsonSchemaCredential's proof
    /// is verified again against its pinned key (offline).
    pub async fn validate_credential(
        &self,
        credential: &Value,
        jsonld: &JsonLd,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SchemaReport, Error> {
        let named = model::credential_schema_ids(credential);
        for credential_type in model::types_of(credential) {
            if let Some(strict) = crate::schema::schema_id_for_type(&credential_type) {
                if !named.iter().any(|(id, _)| id == strict) {
                    return Err(Error::Malformed(format!(
                        "a {credential_type} names its schema: \"credentialSchema\": \
                         {{\"id\": \"{strict}\", \"type\": \"JsonSchema\"}}"
                    )));
                }
            }
        }
        let mut report = SchemaReport::default();
        for (id, named_kind) in named {
            let kind = named_kind
                .as_deref()
                .and_then(SchemaKind::of)
                .ok_or_else(|| {
                    Error::Malformed(format!(
                        "credentialSchema {id} has type {named_kind:?}; kura validates \
                     \"JsonSchema\" and \"JsonSchemaCredential\""
                    ))
                })?;
            let Some(entry) = self.entries.get(&id) else {
                if self.lenient {
                    report.unknown.push(id);
                    continue;
                }
                return Err(Error::UnknownSchema(id));
            };
            if entry.info.kind != kind {
                return Err(Error::Malformed(format!(
                    "credentialSchema {id} is named as a {}, but the registry holds it as a {}",
                    kind.name(),
                    entry.info.kind.name()
                )));
            }
            if let Some((schema_credential, pinned)) = &entry.credential {
                verify_schema_credential(schema_credential, &Pinned(pinned), jsonld, now).await?;
            }
            violations(&entry.validator, credential)?;
            report.checked.push(id);
        }
        Ok(report)
    }
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, Error> {
    jsonschema::draft202012::new(schema)
        .map_err(|error| invalid(format!("the schema does not compile: {error}")))
}

fn violations(validator: &jsonschema::Validator, credential: &Value) -> Result<(), Error> {
    let found: Vec<SchemaViolation> = validator
        .iter_errors(credential)
        .map(|error| SchemaViolation {
            pointer: error.instance_path().to_string(),
            message: error.to_string(),
        })
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaViolations(found))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
