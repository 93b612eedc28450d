//! The properties of credentials and presentations: the issuer (VC DM 2.0 §4.7), the subjects
//! (§4.8), the validity period (§4.9; 1.1 §4.6, §4.8), the related resources (§5.3) and the
//! credentials of a presentation (§4.13, §4.13.1; 1.1 §4.10).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::sections::Topic;
use super::{datetime, values};
use super::{Carrier, Checker};
use crate::jsonld::CREDENTIALS_V2;
use crate::model::DataModel;

impl Checker {
    /// A credential has an `issuer`: a URL, or an object whose `id` is one.
    pub(super) fn issuer(&mut self, issuer: Option<&Value>) {
        match issuer {
            None => self.report(
                Topic::Issuer,
                "issuer",
                "is missing: a credential names its issuer (a URL, or an object with an `id`)",
            ),
            Some(Value::String(url)) => self.url(Topic::Issuer, "issuer", url),
            Some(Value::Object(issuer)) => {
                self.required_id(Topic::Issuer, "issuer.id", issuer.get("id"))
            }
            Some(_) => self.report(
                Topic::Issuer,
                "issuer",
                "must be a URL or an object with an `id` URL",
            ),
        }
    }

    /// A credential has a `credentialSubject`: one or more objects, each making a claim (a
    /// member besides `id`; VC DM 1.1: a non-empty object), whose `id`, if any, is a URL.
    pub(super) fn subjects(&mut self, subjects: Option<&Value>) {
        let Some(subjects) = subjects else {
            return self.report(
                Topic::Subject,
                "credentialSubject",
                "is missing: a credential makes claims about one or more subjects",
            );
        };
        for (place, subject) in self.objects(Topic::Subject, "credentialSubject", subjects) {
            let claims = match self.model {
                DataModel::V2 => subject.keys().filter(|key| *key != "id").count(),
                DataModel::V1 => subject.len(),
            };
            if claims == 0 {
                self.report(
                    Topic::Subject,
                    &place,
                    "makes no claim: each subject object holds one or more claims",
                );
            }
            self.optional_id(
                Topic::Identifiers,
                &format!("{place}.id"),
                subject.get("id"),
            );
        }
    }

    /// VC DM 2.0 §4.9: `validFrom` and `validUntil` are `dateTimeStamp`s (with a time zone),
    /// `validFrom` not after `validUntil`. VC DM 1.1 §4.6 / §4.8: `issuanceDate` is required,
    /// it and `expirationDate` are `dateTime`s.
    pub(super) fn validity(&mut self, object: &Map<String, Value>) {
        let (from, until, stamp) = match self.model {
            DataModel::V2 => ("validFrom", "validUntil", true),
            DataModel::V1 => ("issuanceDate", "expirationDate", false),
        };
        if self.model == DataModel::V1 && !object.contains_key(from) {
            self.report(
                Topic::ValidFrom,
                from,
                "is missing: a VC DM 1.1 credential says when it was issued",
            );
        }
        let from_instant = self.date_time(Topic::ValidFrom, from, object.get(from), stamp);
        let until_instant = self.date_time(Topic::ValidUntil, until, object.get(until), stamp);
        if let (Some(from_instant), Some(until_instant)) = (from_instant, until_instant) {
            if self.model == DataModel::V2 && until_instant < from_instant {
                self.report(Topic::ValidUntil, until, format!("is before `{from}`"));
            }
        }
    }

    fn date_time(
        &mut self,
        topic: Topic,
        property: &str,
        value: Option<&Value>,
        stamp: bool,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let expected = if stamp {
            "an XML Schema dateTimeStamp (a date and time with a time zone, such as \
             2025-01-01T00:00:00Z)"
        } else {
            "an XML Schema dateTime (such as 2025-01-01T00:00:00Z)"
        };
        let text = match value? {
            Value::String(text) => text,
            _ => {
                self.report(topic, property, format!("must be {expected}"));
                return None;
            }
        };
        match datetime::parse(text) {
            Ok(parsed) if stamp && !parsed.has_zone => {
                self.report(
                    topic,
                    property,
                    format!("{text:?} has no time zone: it must be {expected}"),
                );
                None
            }
            Ok(parsed) => Some(parsed.instant),
            Err(why) => {
                self.report(
                    topic,
                    property,
                    format!("{text:?} {why}: it must be {expected}"),
                );
                None
            }
        }
    }

    /// VC DM 2.0 §5.3: `relatedResource` is one or more objects, each with an `id` URL that
    /// no other has, and a `digestSRI` or `digestMultibase`.
    pub(super) fn related_resources(&mut self, resources: Option<&Value>) {
        let Some(resources) = resources.filter(|value| !values::is_empty_array(value)) else {
            return;
        };
        let mut seen = HashSet::new();
        for (place, resource) in self.objects(Topic::RelatedResources, "relatedResource", resources)
        {
            let id_place = format!("{place}.id");
            self.required_id(Topic::RelatedResources, &id_place, resource.get("id"));
            if let Some(id) = resource.get("id").and_then(Value::as_str) {
                if !seen.insert(id.to_owned()) {
                    self.report(
                        Topic::RelatedResources,
                        &id_place,
                        format!("{id:?} is listed twice: each related resource is listed once"),
                    );
                }
            }
            if !resource.contains_key("digestSRI") && !resource.contains_key("digestMultibase") {
                self.report(
                    Topic::RelatedResources,
                    &place,
                    "has neither `digestSRI` nor `digestMultibase`",
                );
            }
        }
    }

    /// VC DM 2.0 §4.13: `verifiableCredential` holds objects, each secured (an embedded
    /// `proof`) or an `EnvelopedVerifiableCredential` (§4.13.1), never a bare string; except
    /// that VC-JWT 1.1 lists credentials as compact JWTs (VC DM 1.1 §6.3.1), which a
    /// presentation carried in a `vp` claim, or following VC DM 1.1, may do.
    pub(super) fn embedded_credentials(&mut self, credentials: Option<&Value>) {
        // An empty list presents nothing, as if absent (kura's presentation of no credential).
        let Some(credentials) = credentials.filter(|value| !values::is_empty_array(value)) else {
            return;
        };
        let items: Vec<(String, &Value)> = match credentials {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| (format!("verifiableCredential[{index}]"), item))
                .collect(),
            single => vec![("verifiableCredential".to_owned(), single)],
        };
        let jwt_allowed = self.carrier == Carrier::JwtClaim || self.model == DataModel::V1;
        for (place, item) in items {
            match item {
                Value::Object(credential) => self.embedded(&place, credential),
                Value::String(token) if jwt_allowed && is_compact_jws(token) => {}
                Value::String(_) if jwt_allowed => self.report(
                    Topic::Presentations,
                    &place,
                    "must be a credential object or a compact JWT",
                ),
                _ => self.report(
                    Topic::Presentations,
                    &place,
                    "must be a verifiable credential or EnvelopedVerifiableCredential object, \
                     not a string, number or URL",
                ),
            }
        }
    }

    fn embedded(&mut self, place: &str, credential: &Map<String, Value>) {
        let types = crate::model::types_of(&Value::Object(credential.clone()));
        if !types.iter().any(|t| t == "EnvelopedVerifiableCredential") {
            if !credential.contains_key("proof") {
                self.report(
                    Topic::Presentations,
                    place,
                    "is not secured: it has no `proof` and is not an \
                     EnvelopedVerifiableCredential",
                );
            }
            return;
        }
        let has_base = match credential.get("@context") {
            Some(Value::String(context)) => context == CREDENTIALS_V2,
            Some(Value::Array(contexts)) => contexts.iter().any(|c| c == CREDENTIALS_V2),
            _ => false,
        };
        if !has_base {
            self.report(
                Topic::Enveloped,
                &format!("{place}.@context"),
                format!("must be there and include {CREDENTIALS_V2}"),
            );
        }
        let data_url = credential
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with("data:"));
        if !data_url {
            self.report(
                Topic::Enveloped,
                &format!("{place}.id"),
                "must be a `data:` URL holding the secured credential",
            );
        }
    }
}

/// Three base64url segments, the first two non-empty (RFC 7515 §7.1).
fn is_compact_jws(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|part| {
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
