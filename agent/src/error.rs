//! The one error type of the kura agent library.

/// Everything that can go wrong in the agent library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}
