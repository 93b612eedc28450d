//! Expansion failures explained: a term that no context defines is named, with where it is and
//! how to fix it ([`crate::Error::UndefinedTerm`]), instead of the processor's bare "Key `x`
//! expansion failed" or "Invalid `@type` value".
//!
//! kura expands with undefined terms refused (the signed data must hold every claim). The
//! VC DM 2.0 base context has no `@vocab` (VC DM 2.0 §4.3 moved it to the undefined-terms/v2
//! context), so a property or type that no context defines makes expansion fail:
//! - a property: the processor names it (`KeyExpansionFailed`);
//! - a type: it does not (`InvalidTypeValue`), so [`undefined_type`] expands again keeping
//!   invalid identifiers and names the first type of the document that came out invalid.

use serde_json::Value;
use ssi::json_ld::expansion::Error as ExpansionError;
use ssi::json_ld::object::FragmentRef;
use ssi::json_ld::Id;

use crate::Error;

/// The error for a failed expansion of `document`: [`Error::UndefinedTerm`] when a property
/// names no term, else the processor's own message. Types are [`undefined_type`]'s.
pub(super) fn explain(error: &ExpansionError, document: &Value) -> Error {
    match error {
        ExpansionError::KeyExpansionFailed(term) => Error::UndefinedTerm {
            at: pointer_to_key(document, term, &mut String::new()),
            term: term.clone(),
        },
        other => Error::JsonLd(other.to_string()),
    }
}

/// Whether `error` is the one an undefined type gives.
pub(super) fn is_type_error(error: &ExpansionError) -> bool {
    matches!(error, ExpansionError::InvalidTypeValue)
}

/// The first type of `document` that `expanded` (the document expanded with invalid
/// identifiers kept) holds as an invalid identifier: a type no context defines.
pub(super) fn undefined_type<T, B>(
    expanded: &ssi::json_ld::ExpandedDocument<T, B>,
    document: &Value,
) -> Option<Error> {
    let invalid: Vec<String> = expanded
        .traverse()
        .filter_map(|fragment| match fragment {
            FragmentRef::NodeFragment(_) => match fragment.as_id() {
                Some(Id::Invalid(name)) => Some(name.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut types = Vec::new();
    collect_types(document, &mut String::new(), &mut types);
    types
        .into_iter()
        .find(|(name, _)| invalid.iter().any(|invalid| invalid == name))
        .map(|(term, at)| Error::UndefinedTerm { term, at: Some(at) })
}

/// `type` / `@type` values of `value` at any depth, each with its JSON pointer.
fn collect_types(value: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) => {
            for (key, member) in object {
                if key == "@context" {
                    continue;
                }
                let length = path.len();
                push_segment(path, key);
                if key == "type" || key == "@type" {
                    match member {
                        Value::String(name) => out.push((name.clone(), path.clone())),
                        Value::Array(names) => {
                            for (index, name) in names.iter().enumerate() {
                                if let Value::String(name) = name {
                                    out.push((name.clone(), format!("{path}/{index}")));
                                }
                            }
                        }
                        _ => {}
                    }
                } else {
                    collect_types(member, path, out);
                }
                path.truncate(length);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = path.len();
                path.push_str(&format!("/{index}"));
                collect_types(item, path, out);
                path.truncate(length);
            }
        }
        _ => {}
    }
}

/// The JSON pointer of the first member named `key` in `value` (outside `@context`).
fn pointer_to_key(value: &Value, key: &str, path: &mut String) -> Option<String> {
    match value {
        Value::Object(object) => {
            if object.contains_key(key) {
                let mut found = path.clone();
                push_segment(&mut found, key);
                return Some(found);
            }
            object
                .iter()
                .filter(|(name, _)| *name != "@context")
                .find_map(|(name, member)| {
                    let length = path.len();
                    push_segment(path, name);
                    let found = pointer_to_key(member, key, path);
                    path.truncate(length);
                    found
                })
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let length = path.len();
            path.push_str(&format!("/{index}"));
            let found = pointer_to_key(item, key, path);
            path.truncate(length);
            found
        }),
        _ => None,
    }
}

/// Appends `/key` to a JSON pointer, escaped per RFC 6901 §3.
fn push_segment(path: &mut String, key: &str) {
    path.push('/');
    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_name_the_first_member_and_escape_it() {
        let document = json!({
            "credentialSubject": [{"id": "x"}, {"a/b~c": {"qualification": 1}}],
            "@context": {"qualification": "urn:x"}
        });
        assert_eq!(
            pointer_to_key(&document, "qualification", &mut String::new()).as_deref(),
            Some("/credentialSubject/1/a~1b~0c/qualification")
        );
        assert_eq!(
            pointer_to_key(&document, "absent", &mut String::new()),
            None
        );
    }

    #[test]
    fn types_are_collected_with_their_pointers() {
        let document =
            json!({"type": ["A", "B"], "x": {"@type": "C"}, "@context": {"type": "@type"}});
        let mut types = Vec::new();
        collect_types(&document, &mut String::new(), &mut types);
        assert_eq!(
            types,
            vec![
                ("A".to_owned(), "/type/0".to_owned()),
                ("B".to_owned(), "/type/1".to_owned()),
                ("C".to_owned(), "/x/@type".to_owned()),
            ]
        );
    }
}
