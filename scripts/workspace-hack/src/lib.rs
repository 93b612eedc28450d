//! Empty: this package exists only for its dependency list (see its Cargo.toml).
