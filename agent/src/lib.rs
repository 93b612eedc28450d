//! The kura agent library: the repository side of patent JP7770828B2.
//!
//! # Layout
//! - [`store`]: the sled store, one typed tree per collection.
//! - [`history`]: the append-only, hash-chained history log (patent ST63, ST81).
//! - [`token`]: one-time tokens (patent ST56–62, ST73–80).
//! - [`error`]: the crate's one error type.

pub mod error;
pub mod history;
pub mod store;
pub mod token;

pub use error::Error;
