//! Fuzzes the ISO 7816-4 codec: parsing never panics, and whatever parses re-encodes to a
//! command that parses to the same value.
#![no_main]

use card_bridge::apdu::{Command, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = Command::try_from(data) {
        let encoded = command.to_bytes().expect("a parsed command is encodable");
        assert_eq!(Command::try_from(&encoded[..]).expect("re-parses"), command);
    }
    if let Ok(response) = Response::try_from(data) {
        assert_eq!(response.to_bytes(), data);
    }
});
