//! Value checks shared by the properties: URLs and `id`s (VC DM 2.0 §4.4), `type` (§4.5),
//! language value objects (§11.1), and the typed objects of §4.10, §4.11, §5.4–§5.6, §5.10.

use serde_json::{Map, Value};

use super::sections::Topic;
use super::{Checker, IdRule};

/// A URL per the WHATWG URL Standard (VC DM 2.0 §2 "URL"; DIDs and URNs are URLs): it parses
/// as an absolute URL, and holds none of the characters the parser would silently strip
/// (surrounding spaces and controls, tabs and newlines).
pub fn is_url(text: &str) -> bool {
    !text.is_empty()
        && !text.chars().any(|c| c.is_ascii_control() || c == ' ')
        && url::Url::parse(text).is_ok()
}

/// An empty array: JSON-LD reads it as no value, so an optional property holding one is absent
/// (a required one, such as `credentialSubject`, is then missing).
pub fn is_empty_array(value: &Value) -> bool {
    value.as_array().is_some_and(Vec::is_empty)
}

impl Checker {
    /// `property` (a string) must be a URL.
    pub(super) fn url(&mut self, topic: Topic, property: &str, text: &str) {
        if !is_url(text) {
            self.report(topic, property, format!("{text:?} is not a URL"));
        }
    }

    /// VC DM 2.0 §4.4 / 1.1 §4.2: an `id`, where present, is one URL.
    pub(super) fn optional_id(&mut self, topic: Topic, property: &str, id: Option<&Value>) {
        match id {
            None => {}
            Some(Value::String(url)) => self.url(topic, property, url),
            Some(_) => self.report(
                Topic::Identifiers,
                property,
                "must be a single URL (a string)",
            ),
        }
    }

    /// An `id` that the statement on `topic` requires, a URL.
    pub(super) fn required_id(&mut self, topic: Topic, property: &str, id: Option<&Value>) {
        match id {
            None => self.report(topic, property, "is missing: it must be a URL"),
            some => self.optional_id(topic, property, some),
        }
    }

    /// VC DM 2.0 §4.5 / 1.1 §4.3: `type` is there, a term or URL or a set of them. Returns
    /// the types (empty when they are missing or malformed).
    pub(super) fn types(
        &mut self,
        topic: Topic,
        property: &str,
        types: Option<&Value>,
    ) -> Vec<String> {
        let values: Vec<&Value> = match types {
            None => {
                self.report(topic, property, "is missing: it must name the type");
                return Vec::new();
            }
            Some(Value::Array(values)) if values.is_empty() => {
                self.report(topic, property, "is empty: it must name one or more types");
                return Vec::new();
            }
            Some(Value::Array(values)) => values.iter().collect(),
            Some(single) => vec![single],
        };
        let mut names = Vec::new();
        for value in values {
            match value.as_str() {
                Some(name) if !name.is_empty() => names.push(name.to_owned()),
                _ => {
                    self.report(
                        topic,
                        property,
                        "must hold only terms and URLs (non-empty strings)",
                    );
                    return Vec::new();
                }
            }
        }
        names
    }

    /// VC DM 2.0 §4.6: `name` and `description` are strings or language value objects
    /// (§11.1), several languages as an array of language value objects.
    pub(super) fn names(&mut self, object: &Map<String, Value>) {
        for property in ["name", "description"] {
            let Some(value) = object.get(property) else {
                continue;
            };
            match value {
                Value::String(_) => {}
                Value::Object(language_value) => self.language_value(property, language_value),
                Value::Array(values) if !values.is_empty() => {
                    for (index, item) in values.iter().enumerate() {
                        let place = format!("{property}[{index}]");
                        match item {
                            Value::Object(language_value) => {
                                self.language_value(&place, language_value)
                            }
                            _ => self.report(
                                Topic::Names,
                                &place,
                                "must be a language value object (several languages are an \
                                 array of them)",
                            ),
                        }
                    }
                }
                _ => self.report(
                    Topic::Names,
                    property,
                    "must be a string or a language value object ({\"@value\", \"@language\", \
                     \"@direction\"})",
                ),
            }
        }
    }

    /// VC DM 2.0 §11.1: `@value` a string; `@language` a string, `@direction` `ltr` or `rtl`
    /// (JSON-LD 1.1 §4.2.4.1); no other member.
    fn language_value(&mut self, property: &str, value: &Map<String, Value>) {
        if !value.get("@value").is_some_and(Value::is_string) {
            self.report(
                Topic::Language,
                &format!("{property}.@value"),
                "must be there, a string",
            );
        }
        if value
            .get("@language")
            .is_some_and(|language| !language.is_string())
        {
            self.report(
                Topic::Language,
                &format!("{property}.@language"),
                "must be a language tag (a string)",
            );
        }
        if let Some(direction) = value.get("@direction") {
            if !matches!(direction.as_str(), Some("ltr" | "rtl")) {
                self.report(
                    Topic::Language,
                    &format!("{property}.@direction"),
                    "must be \"ltr\" or \"rtl\"",
                );
            }
        }
        for key in value.keys() {
            if !["@value", "@language", "@direction"].contains(&key.as_str()) {
                self.report(
                    Topic::Language,
                    &format!("{property}.{key}"),
                    "is not allowed: a language value object holds only `@value`, \
                     `@language` and `@direction`",
                );
            }
        }
    }

    /// The items of a one-or-more-objects property with their paths; a non-object or an
    /// empty array is reported under `topic`.
    pub(super) fn objects<'v>(
        &mut self,
        topic: Topic,
        property: &str,
        value: &'v Value,
    ) -> Vec<(String, &'v Map<String, Value>)> {
        match value {
            Value::Object(object) => vec![(property.to_owned(), object)],
            Value::Array(items) if items.is_empty() => {
                self.report(
                    topic,
                    property,
                    "is empty: it must hold one or more objects",
                );
                Vec::new()
            }
            Value::Array(items) => {
                let mut objects = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let place = format!("{property}[{index}]");
                    match item {
                        Value::Object(object) => objects.push((place, object)),
                        _ => self.report(topic, &place, "must be an object"),
                    }
                }
                objects
            }
            _ => {
                self.report(topic, property, "must be an object or an array of objects");
                Vec::new()
            }
        }
    }

    /// `credentialStatus`, `credentialSchema`, `evidence`, `refreshService`, `termsOfUse` and
    /// the reserved extension points: one or more objects, each with a `type`, and an `id`
    /// URL where present (or where `id` says it is required).
    pub(super) fn typed_objects(
        &mut self,
        object: &Map<String, Value>,
        property: &str,
        topic: Topic,
        id: IdRule,
    ) {
        let Some(value) = object.get(property).filter(|value| !is_empty_array(value)) else {
            return;
        };
        for (place, item) in self.objects(topic, property, value) {
            self.types(topic, &format!("{place}.type"), item.get("type"));
            let id_place = format!("{place}.id");
            match id {
                IdRule::Required => self.required_id(topic, &id_place, item.get("id")),
                IdRule::Optional => self.optional_id(topic, &id_place, item.get("id")),
            }
        }
    }
}
