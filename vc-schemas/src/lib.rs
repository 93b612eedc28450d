//! vc-schemas
