//! The three DID methods: what each DID maps to, without I/O.
//!
//! `key` and `jwk` are purely generative; `web` maps a DID to the HTTPS URL
//! of its document and checks the fetched bytes (the fetch itself lives in
//! [`crate::resolver`]).

pub mod jwk;
pub mod key;
pub mod web;
