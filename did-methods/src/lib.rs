//! did-methods
