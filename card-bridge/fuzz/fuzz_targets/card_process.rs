//! Fuzzes the whole card application: a sequence of arbitrary APDUs (split on a 0xFF 0xFF
//! marker) after SELECT and a genuine match never panics and always answers a status word.
#![no_main]

use card_bridge::applet::Applet;
use card_bridge::card::script::{fixture_state, FixtureCard};
use card_bridge::card::{FingerSample, InProcessCard};
use card_bridge::channel::SeededRng;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut card = InProcessCard::new(fixture_state(FixtureCard::Personalised), Box::new(SeededRng::for_tests("fuzz")));
    card.power_on();
    card.present(FingerSample::Genuine { seed: 1 });
    card.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x07, 0xF0, 0x6B, 0x75, 0x72, 0x61, 0x00, 0x01]);
    card.transmit(&[0x80, 0x20, 0x00, 0x00]);
    for apdu in data.split(|&b| b == 0xFF) {
        let response = card.transmit(apdu);
        assert!(response.len() >= 2);
    }
});
