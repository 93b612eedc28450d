//! Fuzzes the secure channel's decoders: the card's handshake reader and an established
//! channel's transport reader must reject arbitrary bytes without panicking.
#![no_main]

use card_bridge::channel::{self, ChannelSecretKey, SeededRng};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rng = SeededRng::for_tests("fuzz");
    let repository = ChannelSecretKey::generate(&mut rng);
    let card = ChannelSecretKey::generate(&mut rng);
    // Handshake decoder (card side): arbitrary first messages.
    assert!(channel::respond(&card, &repository.public_key(), data, &mut rng).is_err());
    // Transport decoder: arbitrary messages on an established channel.
    let (expect, first) = channel::initiate(&repository, &card.public_key(), &mut rng).expect("initiate");
    let (mut card_side, second) = channel::respond(&card, &repository.public_key(), &first, &mut rng).expect("respond");
    let _repository_side = expect.read_response(&second).expect("read");
    assert!(card_side.open(data).is_err());
});
