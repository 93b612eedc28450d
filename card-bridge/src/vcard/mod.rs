//! The virtual card: the card application with a state file for its EEPROM, a simulated
//! fingerprint sensor fed by a finger file, and a vpcd connector to plug it into `pcscd`.
//! `kura card new|run|finger` are thin wrappers around this module. The design, with measured
//! figures, is in `docs/virtual-card.md`.
//!
//! # Layout
//! - [`VirtualCard`] (`card.rs`): [`crate::card::CardApplication`] + state file + [`FileSensor`];
//!   implements [`crate::applet::Applet`].
//! - [`state_file`]: atomic, durable writes (temp file, fsync, rename, fsync directory).
//! - [`finger`]: what `kura card finger` puts on the simulated sensor.
//! - [`vpcd`]: the TCP connector to vsmartcard's vpcd reader driver.

mod card;
pub mod finger;
pub mod state_file;
pub mod vpcd;

pub use card::{FileSensor, VirtualCard};
pub use finger::{finger_path, read_finger, set_finger, Finger};
