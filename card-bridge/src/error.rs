//! The one error type of card-bridge.

/// Everything that can go wrong in card-bridge. Crypto failures are vague on purpose.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error at an edge (state file, socket).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
