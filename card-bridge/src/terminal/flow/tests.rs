//! Tests of the terminal flows.
