//! The terminal side of patent FIG. 7, 8 and 9: the wire types of the repository API, and the
//! flows that drive a card through PC/SC and the repository over HTTP.

pub mod api;
#[cfg(feature = "terminal")]
pub mod flow;
