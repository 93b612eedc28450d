//! One-time tokens (patent FIG. 8 ST56–62, FIG. 9 ST73–80; DESIGN P5).
//!
//! The repository draws 256 random bits, sends them to the card inside the secure channel
//! (ST56/ST73), the card releases them once to the terminal (ST60/ST76), and the terminal hands
//! them back with its request (ST61/ST79). The repository then checks them (ST62/ST80).
//!
//! This module is the sans-IO core: the token secret, its hash, its binding and the pure
//! [`check`] of a presented token against a stored record. Time comes in as `now`, randomness as
//! an RNG argument. Persistence (a token is stored only as its SHA-256 hash) and the
//! single-use compare-and-swap live in [`crate::store`] (`Store::issue_token`,
//! `Store::redeem_token`).

use std::time::{Duration, SystemTime};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Token length in bytes: 256 bits (DESIGN, one-time token row).
pub const TOKEN_LEN: usize = 32;

/// How long an issued token stays redeemable unless the caller says otherwise (DESIGN P5).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(120);

/// After this many wrong tokens on one session the session must end (DESIGN P5).
pub const MAX_WRONG_TOKENS: u32 = 3;

/// A one-time token in clear. It exists only between issue and delivery into the channel, and
/// between the terminal's request and the check. No `Debug`, no `Display`; zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Token([u8; TOKEN_LEN]);

impl Token {
    /// Draws a fresh token. Production passes `rand_core::OsRng`; tests pass a seeded RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Token {
        let mut bytes = [0u8; TOKEN_LEN];
        rng.fill_bytes(&mut bytes);
        Token(bytes)
    }

    /// The token the terminal sent back (ST61/ST79). Any length but 32 bytes is refused.
    pub fn parse(bytes: &[u8]) -> Result<Token> {
        let array: [u8; TOKEN_LEN] = bytes.try_into().map_err(|_| {
            Error::InvalidInput(format!("a token is {TOKEN_LEN} bytes, got {}", bytes.len()))
        })?;
        Ok(Token(array))
    }

    /// The token's bytes, for the one legitimate export: encryption into the card channel
    /// (ST56/ST73). Anything else that calls this leaks a bearer secret.
    pub fn dangerous_as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.0
    }

    /// The SHA-256 of the token: the only form the store keeps.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

/// SHA-256 of a token. One-way, so it may be printed and stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash(#[serde(with = "hex32")] pub [u8; 32]);

impl ConstantTimeEq for TokenHash {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

/// SHA-256 of the request a token authorises, so that a token for "read credential A" cannot be
/// spent on "read credential B" in the same session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestDigest(#[serde(with = "hex32")] pub [u8; 32]);

impl RequestDigest {
    /// Digest of the request's canonical bytes (the caller decides the canonical form).
    pub fn of(request: &[u8]) -> RequestDigest {
        RequestDigest(Sha256::digest(request).into())
    }
}

/// What a token authorises: one read (FIG. 8) or one write (FIG. 9) of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operation {
    /// A read, ST51–64.
    Read {
        /// Digest of the read request (ids or types, challenge, domain).
        request: RequestDigest,
    },
    /// A write, ST71–83.
    Write {
        /// Digest of the write request (credential id, …).
        request: RequestDigest,
    },
}

/// What a token is bound to (DESIGN P5): one session, one operation, one terminal, one deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBinding {
    /// The session that asked for the operation.
    pub session: String,
    /// The operation the token authorises.
    pub operation: Operation,
    /// The DID of the terminal that will hand the token back.
    pub terminal: String,
    /// Unix milliseconds after which the token is refused.
    pub expires_at_ms: u64,
}

impl TokenBinding {
    /// A binding that expires [`DEFAULT_TOKEN_LIFETIME`] after `now`.
    pub fn new(
        session: impl Into<String>,
        operation: Operation,
        terminal: impl Into<String>,
        now: SystemTime,
    ) -> TokenBinding {
        Self::with_lifetime(session, operation, terminal, now, DEFAULT_TOKEN_LIFETIME)
    }

    /// A binding with an explicit lifetime.
    pub fn with_lifetime(
        session: impl Into<String>,
        operation: Operation,
        terminal: impl Into<String>,
        now: SystemTime,
        lifetime: Duration,
    ) -> TokenBinding {
        let lifetime_ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        TokenBinding {
            session: session.into(),
            operation,
            terminal: terminal.into(),
            expires_at_ms: unix_millis(now).saturating_add(lifetime_ms),
        }
    }
}

/// Where a stored token is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TokenState {
    /// Issued, not yet presented.
    Issued,
    /// Redeemed once; kept until expiry so that a replay is reported as such.
    Redeemed {
        /// When it was redeemed.
        at_ms: u64,
    },
    /// Presented with the wrong session, operation or terminal. A token seen outside its binding
    /// has leaked, so it is burnt and the rightful terminal must start the operation again.
    Burnt {
        /// When it was burnt.
        at_ms: u64,
    },
}

/// The stored form of a token: its hash, binding and state, never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// SHA-256 of the token (also the record's key).
    pub hash: TokenHash,
    /// What the token is bound to.
    pub binding: TokenBinding,
    /// When it was issued (Unix milliseconds).
    pub issued_at_ms: u64,
    /// Where it is in its life.
    pub state: TokenState,
}

/// What the presenter claims: the context in which the token is handed back.
#[derive(Clone, Copy, Debug)]
pub struct Presentation<'a> {
    /// The session the request arrived on.
    pub session: &'a str,
    /// The operation requested.
    pub operation: &'a Operation,
    /// The DID of the terminal that presented the token.
    pub terminal: &'a str,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
}

/// Why a presented token was refused. The repository logs the reason in the history; what it
/// tells the terminal is its own choice (a vague "invalid token" is advised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No token with this hash was ever issued (or it was purged).
    Unknown,
    /// The token was redeemed before: a replay.
    Replayed,
    /// The token was burnt by an earlier misuse.
    Burnt,
    /// The token belongs to another session.
    WrongSession,
    /// The token authorises another operation or request.
    WrongOperation,
    /// The token was issued for another terminal.
    WrongTerminal,
    /// The token's deadline has passed.
    Expired,
}

impl Rejection {
    /// A short reason for the history log.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Unknown => "unknown token",
            Rejection::Replayed => "token replayed",
            Rejection::Burnt => "token burnt by earlier misuse",
            Rejection::WrongSession => "token bound to another session",
            Rejection::WrongOperation => "token bound to another operation",
            Rejection::WrongTerminal => "token bound to another terminal",
            Rejection::Expired => "token expired",
        }
    }

    /// Whether a refusal for this reason must burn a still-issued token: it was shown outside
    /// its binding, so it is no longer a secret between card, terminal and repository.
    pub fn burns_token(self) -> bool {
        matches!(
            self,
            Rejection::WrongSession | Rejection::WrongOperation | Rejection::WrongTerminal
        )
    }
}

/// The outcome of a redemption. `#[must_use]`: a rejection must be logged (DESIGN P5).
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// The token was valid and is now spent.
    Accepted {
        /// What it was bound to.
        binding: TokenBinding,
    },
    /// The token was refused.
    Rejected {
        /// Why.
        reason: Rejection,
        /// Wrong tokens seen on the presenting session so far, this one included.
        wrong_tokens: u32,
        /// True once `wrong_tokens` reaches [`MAX_WRONG_TOKENS`]: the session must end.
        session_must_end: bool,
    },
}

/// Checks a presented token against the record found under its hash (ST62/ST80). Pure.
///
/// `record` is what the store holds under `presented`'s hash, if anything. The hash is compared
/// again in constant time (the lookup is by hash, which leaks nothing about the token itself,
/// since SHA-256 is one-way; the second comparison guards against a record stored under the
/// wrong key). Checks run in a fixed order: existence, state, session, operation, terminal,
/// deadline.
pub fn check(
    record: Option<&TokenRecord>,
    presented: &TokenHash,
    at: &Presentation<'_>,
) -> std::result::Result<(), Rejection> {
    let record = record.ok_or(Rejection::Unknown)?;
    if !bool::from(record.hash.ct_eq(presented)) {
        return Err(Rejection::Unknown);
    }
    match record.state {
        TokenState::Issued => {}
        TokenState::Redeemed { .. } => return Err(Rejection::Replayed),
        TokenState::Burnt { .. } => return Err(Rejection::Burnt),
    }
    let binding = &record.binding;
    if binding.session != at.session {
        return Err(Rejection::WrongSession);
    }
    if binding.operation != *at.operation {
        return Err(Rejection::WrongOperation);
    }
    if binding.terminal != at.terminal {
        return Err(Rejection::WrongTerminal);
    }
    // Inclusive deadline: at exactly `expires_at_ms` the token is already dead.
    if at.now_ms >= binding.expires_at_ms {
        return Err(Rejection::Expired);
    }
    Ok(())
}

/// The next wrong-token count for a session, and whether the session must end (DESIGN P5).
pub fn count_wrong_token(previous: u32) -> (u32, bool) {
    let count = previous.saturating_add(1);
    (count, count >= MAX_WRONG_TOKENS)
}

/// Unix milliseconds of `time`; times before 1970 count as 0.
pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Serde for 32-byte digests as lowercase hex.
mod hex32 {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes).map_err(D::Error::custom)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_core::{CryptoRng, RngCore};

    /// A deterministic RNG for tests: the bytes 0, 1, 2, … from a starting value.
    struct CountingRng(u8);

    impl RngCore for CountingRng {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for byte in dest {
                *byte = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for CountingRng {}

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn read(byte: u8) -> Operation {
        Operation::Read {
            request: RequestDigest([byte; 32]),
        }
    }

    fn record(token: &Token, now: SystemTime) -> TokenRecord {
        TokenRecord {
            hash: token.hash(),
            binding: TokenBinding::new("s1", read(1), "did:key:zT", now),
            issued_at_ms: unix_millis(now),
            state: TokenState::Issued,
        }
    }

    #[test]
    fn tokens_come_from_the_rng_and_hash_with_sha256() {
        let token = Token::generate(&mut CountingRng(0));
        let expected: [u8; 32] = std::array::from_fn(|index| index as u8);
        assert_eq!(token.dangerous_as_bytes(), &expected);
        // SHA-256 of 0x00..0x1f, computed independently (Python hashlib).
        assert_eq!(
            hex::encode(token.hash().0),
            "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
        );
        assert!(Token::parse(&expected[..31]).is_err());
        assert!(Token::parse(&[0; 33]).is_err());
        assert_eq!(Token::parse(&expected).expect("parse").hash(), token.hash());
    }

    #[test]
    fn binding_defaults_to_120_seconds() {
        let binding = TokenBinding::new("s", read(0), "t", at(1000));
        assert_eq!(binding.expires_at_ms, 1_120_000);
    }

    #[test]
    fn check_accepts_only_the_bound_context_before_the_deadline() {
        let token = Token::generate(&mut CountingRng(7));
        let record = record(&token, at(1000));
        let hash = token.hash();
        let good = Presentation {
            session: "s1",
            operation: &read(1),
            terminal: "did:key:zT",
            now_ms: 1_119_999,
        };
        assert_eq!(check(Some(&record), &hash, &good), Ok(()));
        let cases = [
            (
                Presentation {
                    session: "s2",
                    ..good
                },
                Rejection::WrongSession,
            ),
            (
                Presentation {
                    operation: &read(2),
                    ..good
                },
                Rejection::WrongOperation,
            ),
            (
                Presentation {
                    operation: &Operation::Write {
                        request: RequestDigest([1; 32]),
                    },
                    ..good
                },
                Rejection::WrongOperation,
            ),
            (
                Presentation {
                    terminal: "did:key:zU",
                    ..good
                },
                Rejection::WrongTerminal,
            ),
            (
                Presentation {
                    now_ms: 1_120_000,
                    ..good
                },
                Rejection::Expired,
            ),
        ];
        for (presentation, rejection) in cases {
            assert_eq!(check(Some(&record), &hash, &presentation), Err(rejection));
        }
        assert_eq!(check(None, &hash, &good), Err(Rejection::Unknown));
        let other = Token::generate(&mut CountingRng(8)).hash();
        assert_eq!(check(Some(&record), &other, &good), Err(Rejection::Unknown));
        let spent = TokenRecord {
            state: TokenState::Redeemed { at_ms: 1 },
            ..record.clone()
        };
        assert_eq!(check(Some(&spent), &hash, &good), Err(Rejection::Replayed));
        let burnt = TokenRecord {
            state: TokenState::Burnt { at_ms: 1 },
            ..record
        };
        assert_eq!(check(Some(&burnt), &hash, &good), Err(Rejection::Burnt));
    }

    #[test]
    fn the_third_wrong_token_ends_the_session() {
        assert_eq!(count_wrong_token(0), (1, false));
        assert_eq!(count_wrong_token(1), (2, false));
        assert_eq!(count_wrong_token(2), (3, true));
        assert_eq!(count_wrong_token(u32::MAX), (u32::MAX, true));
    }

    #[test]
    fn records_round_trip_through_json() {
        let token = Token::generate(&mut CountingRng(3));
        let record = record(&token, at(5));
        let json = serde_json::to_string(&record).expect("encode");
        assert!(!json.contains(&hex::encode(token.dangerous_as_bytes())));
        assert_eq!(
            serde_json::from_str::<TokenRecord>(&json).expect("decode"),
            record
        );
    }

    proptest! {
        #[test]
        fn check_passes_iff_every_bound_field_matches(
            session_matches in any::<bool>(),
            operation_matches in any::<bool>(),
            terminal_matches in any::<bool>(),
            seed in any::<u8>(),
            elapsed_ms in 0u64..240_000,
        ) {
            let token = Token::generate(&mut CountingRng(seed));
            let record = record(&token, at(1000));
            let operation = if operation_matches { read(1) } else { read(2) };
            let presentation = Presentation {
                session: if session_matches { "s1" } else { "s9" },
                operation: &operation,
                terminal: if terminal_matches { "did:key:zT" } else { "did:key:zX" },
                now_ms: 1_000_000 + elapsed_ms,
            };
            let fresh = elapsed_ms < 120_000;
            let verdict = check(Some(&record), &token.hash(), &presentation);
            prop_assert_eq!(
                verdict.is_ok(),
                session_matches && operation_matches && terminal_matches && fresh
            );
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(Token::parse(&bytes).is_ok(), bytes.len() == TOKEN_LEN);
        }
    }
}
