//! ISO/IEC 7816-4 command and response APDUs (§5), and the status words this card uses.
//!
//! - [`Command`]: parsed with `TryFrom<&[u8]>` (all seven cases of §5.1, short and extended
//!   lengths), encoded with [`Command::to_bytes`] (short whenever the lengths fit).
//! - [`Response`]: data ‖ SW1 SW2 (§5.1, table 2).
//! - [`StatusWord`]: typed SW1-SW2 values (§5.6), including 61xx and 63Cx.
//! - [`chain_command`]: splits a long command into a command chain (CLA b5, §5.4.1), the
//!   terminal half of what the card reassembles with its chaining buffer.
//!
//! Parsing never panics: every malformed input is an [`ApduError`], which the card turns into
//! 6700 (wrong length) or 6E00 (class not supported).

use std::fmt;

/// The largest Nc or Ne a command can carry: 65 535 (extended Lc) and 65 536 (extended Le = 0000).
pub const MAX_EXTENDED_LE: usize = 65_536;
/// The largest Ne a short Le field can express (Le = 00 means 256, ISO 7816-4 §5.1).
pub const MAX_SHORT_LE: usize = 256;
/// CLA bit b5: "command is not the last of a chain" (ISO 7816-4 §5.4.1, table 2).
pub const CLA_CHAINING: u8 = 0x10;

/// Why bytes are not a command APDU. Kept coarse: the card answers with a status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// Fewer than the four header bytes.
    #[error("shorter than the 4-byte header")]
    TooShort,
    /// The body does not match any of the cases of ISO 7816-4 §5.1.
    #[error("body length does not match Lc/Le")]
    BadLength,
    /// CLA = FF is reserved for PPS (ISO 7816-3 §9) and is not a command.
    #[error("invalid class byte")]
    InvalidClass,
    /// A response shorter than its status word.
    #[error("response shorter than SW1 SW2")]
    ResponseTooShort,
    /// A command whose data or Ne cannot be encoded (Nc > 65 535 or Ne > 65 536).
    #[error("length not encodable")]
    NotEncodable,
}

/// A command APDU (ISO 7816-4 §5.1): header, command data (Nc bytes) and Ne.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte, including the chaining bit and logical channel bits.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data field (Nc = `data.len()`).
    pub data: Vec<u8>,
    /// Ne, the maximum number of response bytes expected; `None` when the Le field is absent.
    pub le: Option<usize>,
}

impl Command {
    /// A command with no data and no Le (case 1).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Sets the command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Ne.
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Whether CLA b5 says more commands of this chain follow (ISO 7816-4 §5.4.1).
    pub fn is_chained(&self) -> bool {
        self.cla & CLA_CHAINING != 0
    }

    /// Encodes the command, short form when Nc ≤ 255 and Ne ≤ 256, extended otherwise
    /// (ISO 7816-4 §5.1: an extended command uses extended Lc and Le together).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        let nc = self.data.len();
        if nc > 65_535 || self.le.is_some_and(|ne| ne == 0 || ne > MAX_EXTENDED_LE) {
            return Err(ApduError::NotEncodable);
        }
        let extended = nc > 255 || self.le.is_some_and(|ne| ne > MAX_SHORT_LE);
        let mut out = Vec::with_capacity(4 + 3 + nc + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if extended {
            out.push(0x00);
            if nc > 0 {
                out.extend_from_slice(&(nc as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.le {
                // ISO 7816-4 §5.1: extended Le 0000 means 65 536.
                let field = if ne == MAX_EXTENDED_LE { 0 } else { ne as u16 };
                out.extend_from_slice(&field.to_be_bytes());
            }
        } else {
            if nc > 0 {
                out.push(nc as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.le {
                // Short Le 00 means 256.
                out.push(if ne == MAX_SHORT_LE { 0 } else { ne as u8 });
            }
        }
        Ok(out)
    }
}

/// Short Le: 00 means 256 (ISO 7816-4 §5.1).
fn short_ne(byte: u8) -> usize {
    if byte == 0 {
        MAX_SHORT_LE
    } else {
        usize::from(byte)
    }
}

/// Extended Le: 0000 means 65 536 (ISO 7816-4 §5.1).
fn extended_ne(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => MAX_EXTENDED_LE,
        n => usize::from(n),
    }
}

impl TryFrom<&[u8]> for Command {
    type Error = ApduError;

    /// Decodes the seven cases of ISO 7816-4 §5.1 (table 1). The body after the header is
    /// either empty (case 1), one byte (2S), 1 + Lc bytes (3S), 1 + Lc + 1 bytes (4S),
    /// or starts with 00 and has 3 bytes (2E), 3 + Lc (3E) or 3 + Lc + 2 (4E).
    fn try_from(bytes: &[u8]) -> Result<Self, ApduError> {
        let (header, body) = bytes.split_at_checked(4).ok_or(ApduError::TooShort)?;
        let (cla, ins, p1, p2) = (header[0], header[1], header[2], header[3]);
        if cla == 0xFF {
            return Err(ApduError::InvalidClass);
        }
        let (data, le): (&[u8], Option<usize>) = match body {
            [] => (&[], None),
            [le] => (&[], Some(short_ne(*le))),
            [0, hi, lo] => (&[], Some(extended_ne(*hi, *lo))),
            [0, hi, lo, rest @ ..] => {
                let nc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if nc == 0 {
                    return Err(ApduError::BadLength);
                }
                match rest.len().checked_sub(nc) {
                    Some(0) => (rest, None),
                    Some(2) => (&rest[..nc], Some(extended_ne(rest[nc], rest[nc + 1]))),
                    _ => return Err(ApduError::BadLength),
                }
            }
            [lc, rest @ ..] => {
                // A short Lc of 00 is not a valid case 3S/4S (body "00 xx" matches no case).
                let nc = usize::from(*lc);
                if nc == 0 {
                    return Err(ApduError::BadLength);
                }
                match rest.len().checked_sub(nc) {
                    Some(0) => (rest, None),
                    Some(1) => (&rest[..nc], Some(short_ne(rest[nc]))),
                    _ => return Err(ApduError::BadLength),
                }
            }
        };
        Ok(Command {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            le,
        })
    }
}

/// A response APDU (ISO 7816-4 §5.1): response data then SW1 SW2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data field.
    pub data: Vec<u8>,
    /// The trailer.
    pub status: StatusWord,
}

impl Response {
    /// 9000 with data.
    pub fn ok(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: data.into(),
            status: StatusWord::Ok,
        }
    }

    /// A bare status word.
    pub fn status(status: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            status,
        }
    }

    /// data ‖ SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&u16::from(self.status).to_be_bytes());
        out
    }
}

impl TryFrom<&[u8]> for Response {
    type Error = ApduError;

    fn try_from(bytes: &[u8]) -> Result<Self, ApduError> {
        let split = bytes
            .len()
            .checked_sub(2)
            .ok_or(ApduError::ResponseTooShort)?;
        let (data, sw) = bytes.split_at(split);
        Ok(Response {
            data: data.to_vec(),
            status: StatusWord::from(u16::from_be_bytes([sw[0], sw[1]])),
        })
    }
}

/// The status words (SW1-SW2) of ISO 7816-4 §5.6 that this card answers, plus a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// 9000: normal processing.
    Ok,
    /// 61xx: xx more response bytes available with GET RESPONSE (00 = 256 or more).
    BytesRemaining(u8),
    /// 63Cx: verification failed, x tries left (§5.6, table 6).
    VerificationFailed {
        /// Retries left, 0–15.
        retries_left: u8,
    },
    /// 6581: memory failure.
    MemoryFailure,
    /// 6700: wrong length.
    WrongLength,
    /// 6881: logical channel not supported.
    LogicalChannelNotSupported,
    /// 6882: secure messaging (ISO SM, CLA b3–b4) not supported.
    SecureMessagingNotSupported,
    /// 6883: last command of the chain expected.
    LastCommandOfChainExpected,
    /// 6884: command chaining not supported.
    ChainingNotSupported,
    /// 6982: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// 6983: authentication method blocked.
    AuthenticationMethodBlocked,
    /// 6985: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// 6988: incorrect secure messaging data objects.
    IncorrectSecureMessagingData,
    /// 6A80: incorrect parameters in the command data field.
    IncorrectData,
    /// 6A82: file or application not found.
    FileNotFound,
    /// 6A84: not enough memory space.
    NotEnoughMemory,
    /// 6A86: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// 6A88: referenced data not found.
    ReferencedDataNotFound,
    /// 6D00: instruction code not supported.
    InsNotSupported,
    /// 6E00: class not supported.
    ClaNotSupported,
    /// 6F00: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other value.
    Other(u16),
}

impl StatusWord {
    /// 9000 (and 61xx, which announces more data after success) are the normal-processing words.
    pub fn is_success(self) -> bool {
        matches!(self, StatusWord::Ok | StatusWord::BytesRemaining(_))
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> u16 {
        match sw {
            StatusWord::Ok => 0x9000,
            StatusWord::BytesRemaining(n) => 0x6100 | u16::from(n),
            StatusWord::VerificationFailed { retries_left } => {
                0x63C0 | u16::from(retries_left.min(15))
            }
            StatusWord::MemoryFailure => 0x6581,
            StatusWord::WrongLength => 0x6700,
            StatusWord::LogicalChannelNotSupported => 0x6881,
            StatusWord::SecureMessagingNotSupported => 0x6882,
            StatusWord::LastCommandOfChainExpected => 0x6883,
            StatusWord::ChainingNotSupported => 0x6884,
            StatusWord::SecurityStatusNotSatisfied => 0x6982,
            StatusWord::AuthenticationMethodBlocked => 0x6983,
            StatusWord::ConditionsNotSatisfied => 0x6985,
            StatusWord::IncorrectSecureMessagingData => 0x6988,
            StatusWord::IncorrectData => 0x6A80,
            StatusWord::FileNotFound => 0x6A82,
            StatusWord::NotEnoughMemory => 0x6A84,
            StatusWord::IncorrectP1P2 => 0x6A86,
            StatusWord::ReferencedDataNotFound => 0x6A88,
            StatusWord::InsNotSupported => 0x6D00,
            StatusWord::ClaNotSupported => 0x6E00,
            StatusWord::NoPreciseDiagnosis => 0x6F00,
            StatusWord::Other(v) => v,
        }
    }
}

impl From<u16> for StatusWord {
    fn from(v: u16) -> StatusWord {
        match v {
            0x9000 => StatusWord::Ok,
            0x6100..=0x61FF => StatusWord::BytesRemaining((v & 0xFF) as u8),
            0x63C0..=0x63CF => StatusWord::VerificationFailed {
                retries_left: (v & 0x0F) as u8,
            },
            0x6581 => StatusWord::MemoryFailure,
            0x6700 => StatusWord::WrongLength,
            0x6881 => StatusWord::LogicalChannelNotSupported,
            0x6882 => StatusWord::SecureMessagingNotSupported,
            0x6883 => StatusWord::LastCommandOfChainExpected,
            0x6884 => StatusWord::ChainingNotSupported,
            0x6982 => StatusWord::SecurityStatusNotSatisfied,
            0x6983 => StatusWord::AuthenticationMethodBlocked,
            0x6985 => StatusWord::ConditionsNotSatisfied,
            0x6988 => StatusWord::IncorrectSecureMessagingData,
            0x6A80 => StatusWord::IncorrectData,
            0x6A82 => StatusWord::FileNotFound,
            0x6A84 => StatusWord::NotEnoughMemory,
            0x6A86 => StatusWord::IncorrectP1P2,
            0x6A88 => StatusWord::ReferencedDataNotFound,
            0x6D00 => StatusWord::InsNotSupported,
            0x6E00 => StatusWord::ClaNotSupported,
            0x6F00 => StatusWord::NoPreciseDiagnosis,
            other => StatusWord::Other(other),
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", u16::from(*self))
    }
}

/// Splits `command` into a command chain (ISO 7816-4 §5.4.1): every command but the last has
/// CLA b5 set and carries `chunk` bytes of data; only the last carries Le. A command whose
/// data fits in one chunk is returned unchanged.
pub fn chain_command(command: &Command, chunk: usize) -> Vec<Command> {
    let chunk = chunk.clamp(1, 255);
    if command.data.len() <= chunk {
        return vec![command.clone()];
    }
    let pieces: Vec<&[u8]> = command.data.chunks(chunk).collect();
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(index, piece)| Command {
            cla: if index == last {
                command.cla & !CLA_CHAINING
            } else {
                command.cla | CLA_CHAINING
            },
            ins: command.ins,
            p1: command.p1,
            p2: command.p2,
            data: piece.to_vec(),
            le: if index == last { command.le } else { None },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_the_seven_cases() {
        // Case 1.
        let c = Command::try_from(&[0x00, 0xA4, 0x04, 0x00][..]).unwrap();
        assert_eq!((c.data.len(), c.le), (0, None));
        // Case 2S, Le = 00 → 256.
        let c = Command::try_from(&[0x00, 0xC0, 0x00, 0x00, 0x00][..]).unwrap();
        assert_eq!(c.le, Some(256));
        // Case 3S.
        let c = Command::try_from(&[0x80, 0x20, 0x00, 0x00, 0x02, 0xAA, 0xBB][..]).unwrap();
        assert_eq!((c.data, c.le), (vec![0xAA, 0xBB], None));
        // Case 4S.
        let c = Command::try_from(&[0x80, 0x20, 0x00, 0x00, 0x01, 0xAA, 0x10][..]).unwrap();
        assert_eq!((c.data, c.le), (vec![0xAA], Some(16)));
        // Case 2E, Le = 0000 → 65 536.
        let c = Command::try_from(&[0x80, 0xCA, 0x01, 0x00, 0x00, 0x00, 0x00][..]).unwrap();
        assert_eq!(c.le, Some(65_536));
        // Case 3E.
        let mut bytes = vec![0x80, 0xC2, 0x00, 0x00, 0x00, 0x01, 0x00];
        bytes.extend(std::iter::repeat_n(0x5A, 256));
        let c = Command::try_from(&bytes[..]).unwrap();
        assert_eq!((c.data.len(), c.le), (256, None));
        // Case 4E.
        bytes.extend_from_slice(&[0x01, 0x00]);
        let c = Command::try_from(&bytes[..]).unwrap();
        assert_eq!((c.data.len(), c.le), (256, Some(256)));
    }

    #[test]
    fn rejects_malformed_bodies() {
        assert_eq!(
            Command::try_from(&[0x00, 0xA4, 0x04][..]),
            Err(ApduError::TooShort)
        );
        assert_eq!(
            Command::try_from(&[0x00, 0xA4, 0x04, 0x00, 0x05, 0x01][..]),
            Err(ApduError::BadLength)
        );
        assert_eq!(
            Command::try_from(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00][..]),
            Err(ApduError::BadLength)
        );
        // Extended Lc = 0000 is not a valid case 3E/4E.
        assert_eq!(
            Command::try_from(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01][..]),
            Err(ApduError::BadLength)
        );
        assert_eq!(
            Command::try_from(&[0xFF, 0xA4, 0x04, 0x00][..]),
            Err(ApduError::InvalidClass)
        );
    }

    #[test]
    fn status_words_known_answers() {
        assert_eq!(
            u16::from(StatusWord::VerificationFailed { retries_left: 2 }),
            0x63C2
        );
        assert_eq!(
            StatusWord::from(0x63C1),
            StatusWord::VerificationFailed { retries_left: 1 }
        );
        assert_eq!(StatusWord::from(0x6112), StatusWord::BytesRemaining(0x12));
        assert_eq!(StatusWord::from(0x6983).to_string(), "6983");
        assert_eq!(Response::ok(vec![1, 2]).to_bytes(), vec![1, 2, 0x90, 0x00]);
    }

    #[test]
    fn chain_splits_and_keeps_le_on_the_last() {
        let command = Command::new(0x80, 0x2A, 0x9E, 0x9A)
            .with_data(vec![7; 600])
            .with_le(64);
        let chain = chain_command(&command, 255);
        assert_eq!(chain.len(), 3);
        assert!(chain[..2].iter().all(|c| c.cla == 0x90 && c.le.is_none()));
        assert_eq!(
            (chain[2].cla, chain[2].le, chain[2].data.len()),
            (0x80, Some(64), 90)
        );
        let joined: Vec<u8> = chain.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, command.data);
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        (
            any::<u8>().prop_filter("CLA FF is PPS", |c| *c != 0xFF),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..700),
            prop::option::of(1usize..=MAX_EXTENDED_LE),
        )
            .prop_map(|(cla, ins, p1, p2, data, le)| Command {
                cla,
                ins,
                p1,
                p2,
                data,
                le,
            })
    }

    proptest! {
        #[test]
        fn command_round_trips(command in arb_command()) {
            let bytes = command.to_bytes().unwrap();
            prop_assert_eq!(Command::try_from(&bytes[..]).unwrap(), command);
        }

        #[test]
        fn response_round_trips(data in prop::collection::vec(any::<u8>(), 0..600), sw in any::<u16>()) {
            let response = Response { data, status: StatusWord::from(sw) };
            let bytes = response.to_bytes();
            prop_assert_eq!(Response::try_from(&bytes[..]).unwrap(), response);
        }

        #[test]
        fn status_word_round_trips(sw in any::<u16>()) {
            prop_assert_eq!(u16::from(StatusWord::from(sw)), sw);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(command) = Command::try_from(&bytes[..]) {
                // Whatever parses re-encodes and parses to the same command.
                let again = command.to_bytes().unwrap();
                prop_assert_eq!(Command::try_from(&again[..]).unwrap(), command);
            }
            let _ = Response::try_from(&bytes[..]);
        }
    }
}
