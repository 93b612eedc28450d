//! The end-to-end secure channel between the card and the repository (patent FIG. 7 ST38–39,
//! FIG. 8 ST57–59, FIG. 9 ST74–76): `Noise_KK_25519_ChaChaPoly_SHA256` with the `snow` crate.
//!
//! The same code serves both ends; the repository reuses it:
//! - the repository is the **initiator**: [`initiate`] gives the first handshake message and an
//!   [`ExpectHandshakeResponse`], whose [`ExpectHandshakeResponse::read_response`] consumes the
//!   card's answer and yields a [`SecureChannel`];
//! - the card is the **responder**: [`respond`] takes the first message and gives the second
//!   message and a [`SecureChannel`] at once. KK has two handshake messages, so the handshake
//!   is one APDU round trip.
//!
//! KK means both static keys are known in advance: the card pins the repository's X25519
//! `keyAgreement` key, and the repository knows the card's X25519 channel key from the card's
//! binding credential. A wrong key on either side fails the first message (Noise §7.5, the
//! `ss` and `es` tokens), so a card talking to the wrong repository fails closed (P3).
//!
//! After the handshake, transport messages use snow's counter nonces (Noise §5.1): a relay that
//! replays, reorders, drops or alters a message makes the next decryption fail, and a
//! [`SecureChannel`] that failed once stays failed.
//!
//! Sans-IO: bytes in, bytes out, keys and randomness passed in.

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// The Noise protocol name (Noise §8).
pub const NOISE_PROTOCOL: &str = "Noise_KK_25519_ChaChaPoly_SHA256";
/// Bound into every handshake (Noise §6, prologue): a channel for another protocol or version
/// cannot be confused with this one.
pub const PROLOGUE: &[u8] = b"kura card channel v1";
/// The AEAD tag every transport message carries (Noise §5.1, ChaChaPoly).
pub const TAG_LEN: usize = 16;
/// Noise messages are at most 65 535 bytes (Noise §3).
pub const MAX_MESSAGE_LEN: usize = 65_535;
/// The largest plaintext one transport message can carry.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - TAG_LEN;

/// A 32-byte X25519 static private key. No `Debug`, zeroized on drop; bytes leave it only
/// through [`ChannelSecretKey::dangerous_to_bytes`] (for the card's own state file).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ChannelSecretKey([u8; 32]);

impl ChannelSecretKey {
    /// A fresh key from `rng` (RFC 7748 §5: any 32 bytes are a valid X25519 scalar after clamping).
    pub fn generate(rng: &mut (impl RngCore + CryptoRng + ?Sized)) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps existing key bytes (from the card's state file or an HSM export).
    pub fn dangerous_from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw private key. Only the card's own persistence may call this.
    pub fn dangerous_to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The matching public key: X25519(k, 9) (RFC 7748 §6.1).
    pub fn public_key(&self) -> ChannelPublicKey {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        ChannelPublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }
}

/// A 32-byte X25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelPublicKey(pub [u8; 32]);

/// A SHA-256 counter-mode byte stream: block i = SHA-256(seed ‖ i). Deterministic from its
/// 32-byte seed, which is its whole secret. Used to feed snow (whose resolver needs an owned
/// random source) from the caller's passed-in rng, and by tests and simulations that need a
/// seeded `CryptoRng`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl SeededRng {
    /// A stream determined by `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    /// A stream seeded with 32 bytes drawn from `rng`.
    pub fn from_rng(rng: &mut (impl RngCore + CryptoRng + ?Sized)) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let this = Self::from_seed(seed);
        seed.zeroize();
        this
    }

    /// A stream for tests: the seed is `label` hashed.
    pub fn for_tests(label: &str) -> Self {
        Self::from_seed(Sha256::digest(label.as_bytes()).into())
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == 32 {
                let mut hasher = Sha256::new();
                hasher.update(self.seed);
                hasher.update(self.counter.to_be_bytes());
                self.block = hasher.finalize().into();
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeededRng {}

impl snow::types::Random for SeededRng {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        RngCore::fill_bytes(self, dest);
        Ok(())
    }
}

/// snow's default primitives, but randomness (the ephemeral key) from a seed we drew from the
/// caller's rng: the channel stays sans-IO and tests can fix it.
struct PassedInRandomness {
    seed: [u8; 32],
}

impl Drop for PassedInRandomness {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl CryptoResolver for PassedInRandomness {
    fn resolve_rng(&self) -> Option<Box<dyn snow::types::Random>> {
        Some(Box::new(SeededRng::from_seed(self.seed)))
    }
    fn resolve_dh(&self, choice: &snow::params::DHChoice) -> Option<Box<dyn snow::types::Dh>> {
        DefaultResolver.resolve_dh(choice)
    }
    fn resolve_hash(
        &self,
        choice: &snow::params::HashChoice,
    ) -> Option<Box<dyn snow::types::Hash>> {
        DefaultResolver.resolve_hash(choice)
    }
    fn resolve_cipher(
        &self,
        choice: &snow::params::CipherChoice,
    ) -> Option<Box<dyn snow::types::Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

fn builder<'a>(rng: &mut (impl RngCore + CryptoRng + ?Sized)) -> Result<snow::Builder<'a>, Error> {
    let params: snow::params::NoiseParams = NOISE_PROTOCOL.parse().map_err(|_| Error::Channel)?;
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let resolver = PassedInRandomness { seed };
    seed.zeroize();
    snow::Builder::with_resolver(params, Box::new(resolver))
        .prologue(PROLOGUE)
        .map_err(|_| Error::Channel)
}

/// Repository side: the first handshake message `-> e, es, ss` (Noise §7.5, KK), with an empty
/// payload. The payload of KK's first message can be replayed (Noise §7.7, destination
/// property 2), so nothing is ever sent in it.
pub fn initiate(
    local: &ChannelSecretKey,
    card: &ChannelPublicKey,
    rng: &mut (impl RngCore + CryptoRng + ?Sized),
) -> Result<(ExpectHandshakeResponse, Vec<u8>), Error> {
    let mut handshake = builder(rng)?
        .local_private_key(&local.0)
        .and_then(|b| b.remote_public_key(&card.0))
        .and_then(|b| b.build_initiator())
        .map_err(|_| Error::Channel)?;
    let mut message = vec![0u8; 256];
    let len = handshake
        .write_message(&[], &mut message)
        .map_err(|_| Error::Channel)?;
    message.truncate(len);
    Ok((ExpectHandshakeResponse { handshake }, message))
}

/// Repository side, after [`initiate`]: waiting for the card's `<- e, ee, se`.
pub struct ExpectHandshakeResponse {
    handshake: snow::HandshakeState,
}

impl ExpectHandshakeResponse {
    /// Consumes the card's handshake message. Fails if the card does not hold the private key
    /// of the channel key the repository expects.
    pub fn read_response(mut self, message: &[u8]) -> Result<SecureChannel, Error> {
        let mut payload = vec![0u8; message.len()];
        let len = self
            .handshake
            .read_message(message, &mut payload)
            .map_err(|_| Error::Channel)?;
        if len != 0 {
            return Err(Error::Channel);
        }
        let transport = self
            .handshake
            .into_transport_mode()
            .map_err(|_| Error::Channel)?;
        Ok(SecureChannel {
            transport,
            failed: false,
        })
    }
}

/// Card side: reads the repository's `-> e, es, ss` and answers `<- e, ee, se`. The card only
/// talks to `pinned_repository`; anyone else fails here. A non-empty first-message payload is
/// refused (see [`initiate`]).
pub fn respond(
    local: &ChannelSecretKey,
    pinned_repository: &ChannelPublicKey,
    message: &[u8],
    rng: &mut (impl RngCore + CryptoRng + ?Sized),
) -> Result<(SecureChannel, Vec<u8>), Error> {
    let mut handshake = builder(rng)?
        .local_private_key(&local.0)
        .and_then(|b| b.remote_public_key(&pinned_repository.0))
        .and_then(|b| b.build_responder())
        .map_err(|_| Error::Channel)?;
    if message.len() > MAX_MESSAGE_LEN {
        return Err(Error::Channel);
    }
    let mut payload = vec![0u8; message.len()];
    let len = handshake
        .read_message(message, &mut payload)
        .map_err(|_| Error::Channel)?;
    if len != 0 {
        return Err(Error::Channel);
    }
    let mut reply = vec![0u8; 256];
    let len = handshake
        .write_message(&[], &mut reply)
        .map_err(|_| Error::Channel)?;
    reply.truncate(len);
    let transport = handshake
        .into_transport_mode()
        .map_err(|_| Error::Channel)?;
    Ok((
        SecureChannel {
            transport,
            failed: false,
        },
        reply,
    ))
}

/// An established channel (Noise transport mode). Each direction has its own key and counter
/// nonce, so a message is accepted only once and only in order. After any failure the channel
/// stays failed: every later call returns [`Error::Channel`].
pub struct SecureChannel {
    transport: snow::TransportState,
    failed: bool,
}

impl SecureChannel {
    /// Encrypts one message for the peer.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        if self.failed || plaintext.len() > MAX_PLAINTEXT_LEN {
            self.failed = true;
            return Err(Error::Channel);
        }
        let mut out = vec![0u8; plaintext.len() + TAG_LEN];
        match self.transport.write_message(plaintext, &mut out) {
            Ok(len) => {
                out.truncate(len);
                Ok(out)
            }
            Err(_) => {
                self.failed = true;
                Err(Error::Channel)
            }
        }
    }

    /// Decrypts and authenticates one message from the peer. Vague on purpose: a replayed,
    /// reordered, truncated or altered message is just [`Error::Channel`].
    pub fn open(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        if self.failed || message.len() < TAG_LEN || message.len() > MAX_MESSAGE_LEN {
            self.failed = true;
            return Err(Error::Channel);
        }
        let mut out = vec![0u8; message.len()];
        match self.transport.read_message(message, &mut out) {
            Ok(len) => {
                out.truncate(len);
                Ok(out)
            }
            Err(_) => {
                out.zeroize();
                self.failed = true;
                Err(Error::Channel)
            }
        }
    }

    /// Whether the channel has failed (and will refuse everything from now on).
    pub fn is_failed(&self) -> bool {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_core::RngCore;

    struct Pair {
        repository: SecureChannel,
        card: SecureChannel,
    }

    fn keys(label: &str) -> (ChannelSecretKey, ChannelSecretKey) {
        let mut rng = SeededRng::for_tests(label);
        (
            ChannelSecretKey::generate(&mut rng),
            ChannelSecretKey::generate(&mut rng),
        )
    }

    fn open_pair() -> Pair {
        let (repository_key, card_key) = keys("pair");
        let mut rng = SeededRng::for_tests("handshake");
        let (expect, first) = initiate(&repository_key, &card_key.public_key(), &mut rng).unwrap();
        let (card, second) =
            respond(&card_key, &repository_key.public_key(), &first, &mut rng).unwrap();
        let repository = expect.read_response(&second).unwrap();
        Pair { repository, card }
    }

    #[test]
    fn handshake_and_both_directions() {
        let mut pair = open_pair();
        let sealed = pair.repository.seal(b"generate key").unwrap();
        assert_eq!(sealed.len(), 12 + TAG_LEN);
        assert_eq!(pair.card.open(&sealed).unwrap(), b"generate key");
        let reply = pair.card.seal(b"public key").unwrap();
        assert_eq!(pair.repository.open(&reply).unwrap(), b"public key");
    }

    #[test]
    fn replayed_message_fails_and_channel_stays_failed() {
        let mut pair = open_pair();
        let first = pair.repository.seal(b"one").unwrap();
        assert!(pair.card.open(&first).is_ok());
        assert!(matches!(pair.card.open(&first), Err(Error::Channel)));
        let second = pair.repository.seal(b"two").unwrap();
        assert!(
            pair.card.open(&second).is_err(),
            "a failed channel must refuse genuine messages too"
        );
    }

    #[test]
    fn reordered_messages_fail() {
        let mut pair = open_pair();
        let first = pair.repository.seal(b"one").unwrap();
        let second = pair.repository.seal(b"two").unwrap();
        assert!(pair.card.open(&second).is_err());
        assert!(pair.card.open(&first).is_err());
    }

    #[test]
    fn altered_message_fails() {
        let mut pair = open_pair();
        let mut sealed = pair.repository.seal(b"sign this").unwrap();
        sealed[3] ^= 0x01;
        assert!(pair.card.open(&sealed).is_err());
    }

    #[test]
    fn card_pinned_to_another_repository_refuses_the_handshake() {
        let (repository_key, card_key) = keys("pair");
        let (other_repository, _) = keys("other");
        let mut rng = SeededRng::for_tests("wrong");
        let (_, first) = initiate(&repository_key, &card_key.public_key(), &mut rng).unwrap();
        assert!(respond(&card_key, &other_repository.public_key(), &first, &mut rng).is_err());
    }

    #[test]
    fn repository_expecting_another_card_fails() {
        let (repository_key, card_key) = keys("pair");
        let (_, other_card) = keys("other");
        let mut rng = SeededRng::for_tests("wrong card");
        // The repository thinks it talks to `other_card`; the real card cannot answer.
        let (_, first) = initiate(&repository_key, &other_card.public_key(), &mut rng).unwrap();
        assert!(respond(&card_key, &repository_key.public_key(), &first, &mut rng).is_err());
    }

    #[test]
    fn replayed_handshake_gives_an_unrelated_channel() {
        // A relay that replays an old first message gets a fresh card response, but cannot use
        // it: the repository that could read it has moved on, and the card's new channel does
        // not accept messages of the old one.
        let (repository_key, card_key) = keys("pair");
        let mut rng = SeededRng::for_tests("replay");
        let (expect, first) = initiate(&repository_key, &card_key.public_key(), &mut rng).unwrap();
        let (_, second) =
            respond(&card_key, &repository_key.public_key(), &first, &mut rng).unwrap();
        let mut repository = expect.read_response(&second).unwrap();
        let old = repository.seal(b"token").unwrap();
        let (mut replayed, _) =
            respond(&card_key, &repository_key.public_key(), &first, &mut rng).unwrap();
        assert!(replayed.open(&old).is_err());
    }

    #[test]
    fn seeded_rng_is_deterministic() {
        let mut a = SeededRng::for_tests("x");
        let mut b = SeededRng::for_tests("x");
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(SeededRng::for_tests("y").next_u64(), a.next_u64());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_card_side(message in prop::collection::vec(any::<u8>(), 0..200)) {
            let (repository_key, card_key) = keys("fuzz");
            let mut rng = SeededRng::for_tests("fuzz");
            prop_assert!(respond(&card_key, &repository_key.public_key(), &message, &mut rng).is_err());
            let mut pair = open_pair();
            prop_assert!(pair.card.open(&message).is_err());
        }
    }
}
