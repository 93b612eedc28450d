//! The contract between a card application and whatever powers it: the vpcd connector
//! (`vcard`) or the in-process transport (`transport::InProcess`).
//!
//! It mirrors what a card reader does to a contact card (ISO 7816-3): power, reset, ATR, APDUs.

/// A card as seen from the reader side. `transmit` takes one command APDU and always returns
/// one response APDU (at least the two status-word bytes), whatever the input: a card never
/// panics and never stays silent.
pub trait Applet: Send {
    /// The Answer To Reset (ISO 7816-3 §8).
    fn atr(&self) -> Vec<u8>;
    /// Contacts powered: a fresh card session starts.
    fn power_on(&mut self);
    /// Contacts unpowered: all volatile state (match result, channel, tokens) is cleared.
    fn power_off(&mut self);
    /// Warm reset: same effect on volatile state as a power cycle.
    fn reset(&mut self);
    /// One command APDU in, one response APDU out.
    fn transmit(&mut self, command: &[u8]) -> Vec<u8>;
}
