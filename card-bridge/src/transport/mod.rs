//! The terminal's view of a card reader: one [`Transport`] trait, two implementations.
//!
//! - [`PcscTransport`]: a real PC/SC reader through `pcscd` (the `pcsc` crate). This is what
//!   `kura terminal …` and `kura card apdu` use, whether the card is the virtual card behind vpcd
//!   or a physical one.
//! - [`InProcessTransport`]: any [`Applet`] in the same process, for unit tests and for the
//!   in-process half of the benchmark.
//!
//! Both hide ISO 7816-4 response chaining (SW1 = 61, GET RESPONSE) from the caller: `transmit`
//! returns the whole response data followed by the final status word.

mod pcsc;

pub use self::pcsc::{list_readers, PcscTransport, ReaderInfo};

use crate::applet::Applet;
use crate::Error;

/// Sends one command APDU and returns the complete response APDU (data ‖ SW1 SW2).
pub trait Transport {
    /// One command APDU in, one response APDU out. The response has at least two bytes.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, Error>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).transmit(command)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).transmit(command)
    }
}

/// Upper bound on GET RESPONSE rounds for one command: 256 × 256 bytes is more than any
/// extended-length response (65 536 bytes), so a card that keeps answering 61xx is broken.
const MAX_GET_RESPONSE_ROUNDS: usize = 256;

/// Runs one command through `exchange` (a single reader round trip) and follows response
/// chaining: while SW1 = 61, send GET RESPONSE (ISO 7816-4 §7.6.1, INS C0) with Le = SW2 and
/// append the data. Also counts the round trips it made, for the benchmark.
pub(crate) fn transmit_chained(
    command: &[u8],
    round_trips: &mut u64,
    mut exchange: impl FnMut(&[u8]) -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, Error> {
    let mut response = exchange(command)?;
    *round_trips += 1;
    check_response(&response)?;
    let mut data = Vec::new();
    let mut rounds = 0;
    while response[response.len() - 2] == 0x61 {
        rounds += 1;
        if rounds > MAX_GET_RESPONSE_ROUNDS {
            return Err(Error::MalformedResponse("endless 61xx response chaining"));
        }
        let available = response[response.len() - 1];
        data.extend_from_slice(&response[..response.len() - 2]);
        // ISO 7816-4 §5.4.1: GET RESPONSE is interindustry (CLA 0x), on the same logical channel
        // (CLA b1–b2) as the command it continues.
        let channel = command.first().map_or(0, |cla| cla & 0x03);
        response = exchange(&[channel, 0xC0, 0x00, 0x00, available])?;
        *round_trips += 1;
        check_response(&response)?;
    }
    if data.is_empty() {
        Ok(response)
    } else {
        data.extend_from_slice(&response);
        Ok(data)
    }
}

/// ISO 7816-4 §5.1: every response APDU ends with SW1 SW2.
fn check_response(response: &[u8]) -> Result<(), Error> {
    if response.len() < 2 {
        return Err(Error::MalformedResponse(
            "response APDU shorter than its status word",
        ));
    }
    Ok(())
}

/// A transport to an [`Applet`] in the same process: no reader, no pcscd. Powers the card on
/// when created.
pub struct InProcessTransport<A: Applet> {
    applet: A,
    round_trips: u64,
}

impl<A: Applet> InProcessTransport<A> {
    /// Inserts `applet` into a simulated reader and powers it on.
    pub fn new(mut applet: A) -> Self {
        applet.power_on();
        Self {
            applet,
            round_trips: 0,
        }
    }

    /// The card in the reader.
    pub fn applet(&self) -> &A {
        &self.applet
    }

    /// The card in the reader, mutably (for example to change what its sensor reads).
    pub fn applet_mut(&mut self) -> &mut A {
        &mut self.applet
    }

    /// Warm reset (ISO 7816-3 §6.2.3): volatile card state is gone afterwards.
    pub fn reset(&mut self) {
        self.applet.reset();
    }

    /// Power off and on again, as when the card is pulled out and put back.
    pub fn power_cycle(&mut self) {
        self.applet.power_off();
        self.applet.power_on();
    }

    /// Round trips to the card so far (GET RESPONSE rounds included).
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Takes the card out of the reader (powering it off first).
    pub fn into_applet(mut self) -> A {
        self.applet.power_off();
        self.applet
    }
}

impl<A: Applet> Transport for InProcessTransport<A> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        let applet = &mut self.applet;
        transmit_chained(command, &mut self.round_trips, |apdu| {
            Ok(applet.transmit(apdu))
        })
    }
}

#[cfg(test)]
mod tests;
