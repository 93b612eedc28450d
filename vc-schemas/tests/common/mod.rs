//! Helpers shared by the integration tests: the fixed clock and did:key keys from fixed seeds.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use vc_schemas::{Algorithm, LocalKey};

/// The tests' clock: 2026-01-01T00:00:00Z.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A did:key key of `algorithm` from the secret `[seed; 32]`.
pub fn key(algorithm: Algorithm, seed: u8) -> LocalKey {
    let key = LocalKey::from_secret_bytes(algorithm, &[seed; 32], String::new()).unwrap();
    let vm = did_methods::did_key_verification_method_id(&vc_schemas::Signer::public_key(&key))
        .to_string();
    key.with_verification_method(vm)
}
