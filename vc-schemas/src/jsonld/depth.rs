//! A bound on how deeply a document nests before JSON-LD processing sees it (DESIGN P8).
//!
//! JSON-LD expansion and RDFC-1.0 recurse once per level of a document; a credential nested a
//! few dozen levels deep overflowed the stack of a debug `kura vc verify` (60 levels on the 8 MiB
//! main thread) and aborted the process. Real credentials and presentations nest about ten
//! levels (an Open Badges 3.0 credential inside a presentation: 7), so kura refuses anything
//! deeper than [`MAX_DEPTH`] with an error, before any processing. The walk is iterative.

use serde_json::Value;

use crate::Error;

/// The deepest nesting of objects and arrays kura hands to JSON-LD processing.
pub const MAX_DEPTH: usize = 32;

/// `Ok` when `document` nests at most [`MAX_DEPTH`] levels of objects and arrays.
pub fn check(document: &Value) -> Result<(), Error> {
    let mut pending: Vec<(&Value, usize)> = vec![(document, 1)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(object) => Box::new(object.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if depth > MAX_DEPTH {
            return Err(Error::Malformed(format!(
                "the document nests objects and arrays deeper than {MAX_DEPTH} levels; kura \
                 refuses it before JSON-LD processing"
            )));
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> Value {
        let mut value = json!("leaf");
        for _ in 1..levels {
            value = Value::Object([("n".to_owned(), value)].into_iter().collect());
        }
        value
    }

    #[test]
    fn documents_up_to_the_bound_pass_and_deeper_ones_are_refused() {
        // `nested(n)` holds n - 1 objects around a string.
        assert!(check(&nested(MAX_DEPTH + 1)).is_ok());
        let error = check(&nested(MAX_DEPTH + 2)).unwrap_err();
        assert!(
            error.to_string().contains("deeper than 32 levels"),
            "{error}"
        );
        assert!(check(&json!([[[[1]]]])).is_ok());
        // Far deeper than any stack would take recursively: the walk itself is iterative.
        let mut deep = json!(1);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert!(check(&deep).is_err());
        // serde_json's own drop is recursive: take it apart by hand.
        while let Value::Array(mut items) = deep {
            deep = items.pop().unwrap_or(Value::Null);
        }
    }
}
