//! [`PcscTransport`]: a reader reached through `pcscd` with the `pcsc` crate (PC/SC part 5).

use std::ffi::CString;

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use super::{transmit_chained, Transport};
use crate::Error;

/// A reader as `pcscd` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader's full name, e.g. "Virtual PCD 00 00".
    pub name: String,
    /// Whether a card is in the reader right now.
    pub card_present: bool,
    /// The card's ATR, when one is present.
    pub atr: Vec<u8>,
}

/// Lists the readers `pcscd` knows, with card presence.
pub fn list_readers() -> Result<Vec<ReaderInfo>, Error> {
    let context = establish()?;
    reader_infos(&context)
}

fn establish() -> Result<Context, Error> {
    Context::establish(Scope::User).map_err(|error| map_service_error(error, None))
}

fn reader_infos(context: &Context) -> Result<Vec<ReaderInfo>, Error> {
    let names = context
        .list_readers_owned()
        .map_err(|error| map_service_error(error, None))?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|name| ReaderState::new(name.clone(), State::UNAWARE))
        .collect();
    // With every reader UNAWARE, SCardGetStatusChange returns at once with the current state.
    context
        .get_status_change(std::time::Duration::from_secs(1), &mut states)
        .map_err(|error| map_service_error(error, None))?;
    Ok(states
        .iter()
        .map(|state| {
            let present = state.event_state().contains(State::PRESENT);
            ReaderInfo {
                name: state.name().to_string_lossy().into_owned(),
                card_present: present,
                atr: if present {
                    state.atr().to_vec()
                } else {
                    Vec::new()
                },
            }
        })
        .collect())
}

/// Turns the service-level PC/SC errors into the crate's clear ones.
fn map_service_error(error: pcsc::Error, reader: Option<&str>) -> Error {
    let reader = reader.map(str::to_owned);
    match error {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => Error::NoPcscService,
        pcsc::Error::NoReadersAvailable => Error::NoReaders,
        pcsc::Error::NoSmartcard => {
            reader.map_or(Error::Pcsc(error), |reader| Error::NoCard { reader })
        }
        // A connected card that goes away: vpcd's card process died, or the card was pulled.
        // pcscd reports a reader-level transmit failure as SCARD_E_NOT_TRANSACTED.
        pcsc::Error::RemovedCard
        | pcsc::Error::NotTransacted
        | pcsc::Error::UnknownReader
        | pcsc::Error::ReaderUnavailable
        | pcsc::Error::UnpoweredCard
        | pcsc::Error::UnresponsiveCard => {
            reader.map_or(Error::Pcsc(error), |reader| Error::CardRemoved { reader })
        }
        error => Error::Pcsc(error),
    }
}

/// Picks a reader: an exact name wins, else a unique case-insensitive substring; with no name,
/// the first reader that holds a card.
fn choose_reader(readers: &[ReaderInfo], wanted: Option<&str>) -> Result<String, Error> {
    let names = || {
        readers
            .iter()
            .map(|reader| reader.name.clone())
            .collect::<Vec<_>>()
    };
    if readers.is_empty() {
        return Err(Error::NoReaders);
    }
    let Some(wanted) = wanted else {
        return readers
            .iter()
            .find(|reader| reader.card_present)
            .map(|reader| reader.name.clone())
            .ok_or_else(|| Error::NoCardInAnyReader { readers: names() });
    };
    if let Some(exact) = readers.iter().find(|reader| reader.name == wanted) {
        return Ok(exact.name.clone());
    }
    let needle = wanted.to_lowercase();
    let matching: Vec<&ReaderInfo> = readers
        .iter()
        .filter(|reader| reader.name.to_lowercase().contains(&needle))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::NoSuchReader {
            wanted: wanted.to_owned(),
            readers: names(),
        }),
        several => Err(Error::AmbiguousReader {
            wanted: wanted.to_owned(),
            readers: several.iter().map(|reader| reader.name.clone()).collect(),
        }),
    }
}

/// A connection to the card in one PC/SC reader (shared mode, T=0 or T=1).
pub struct PcscTransport {
    card: pcsc::Card,
    reader: String,
    receive: Vec<u8>,
    round_trips: u64,
}

impl PcscTransport {
    /// Connects to the card in the reader named `reader` (exact name, or a unique substring
    /// such as "PCD 00 00"), or in the first reader holding a card when `reader` is `None`.
    pub fn connect(reader: Option<&str>) -> Result<Self, Error> {
        let context = establish()?;
        let readers = reader_infos(&context)?;
        let reader = choose_reader(&readers, reader)?;
        let present = readers
            .iter()
            .any(|info| info.name == reader && info.card_present);
        if !present {
            return Err(Error::NoCard { reader });
        }
        let name = CString::new(reader.clone()).map_err(|_| Error::NoSuchReader {
            wanted: reader.clone(),
            readers: Vec::new(),
        })?;
        let card = context
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(|error| map_service_error(error, Some(&reader)))?;
        Ok(Self {
            card,
            reader,
            receive: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
            round_trips: 0,
        })
    }

    /// The reader this transport talks to.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The ATR of the card, as the reader reports it.
    pub fn atr(&self) -> Result<Vec<u8>, Error> {
        let status = self
            .card
            .status2_owned()
            .map_err(|error| map_service_error(error, Some(&self.reader)))?;
        Ok(status.atr().to_vec())
    }

    /// Warm-resets the card (SCardReconnect with SCARD_RESET_CARD): every volatile card state
    /// (match result, channel) is gone afterwards.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|error| map_service_error(error, Some(&self.reader)))
    }

    /// Power-cycles the card (SCardReconnect with SCARD_UNPOWER_CARD), as if it were pulled out
    /// and put back.
    pub fn power_cycle(&mut self) -> Result<(), Error> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::UnpowerCard)
            .map_err(|error| map_service_error(error, Some(&self.reader)))
    }

    /// One exchange exactly as the card answers it: 61xx is returned to the caller, not
    /// followed (for tests of the card's own response chaining).
    pub fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        self.round_trips += 1;
        let response = exchange(&self.card, &self.reader, &mut self.receive, command)?;
        super::check_response(&response)?;
        Ok(response)
    }

    /// Round trips through pcscd so far (GET RESPONSE rounds included).
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Disconnects, resetting the card so that the next terminal starts from a clean session.
    pub fn disconnect(self) -> Result<(), Error> {
        let reader = self.reader;
        self.card
            .disconnect(Disposition::ResetCard)
            .map_err(|(_, error)| map_service_error(error, Some(&reader)))
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        let Self {
            card,
            reader,
            receive,
            round_trips,
        } = self;
        transmit_chained(command, round_trips, |apdu| {
            exchange(card, reader, receive, apdu)
        })
    }
}

/// One SCardTransmit. vpcd answers an empty buffer, not an error, when its card connection is
/// gone (the card process died): a card always answers at least SW1 SW2 (ISO 7816-4 §5.1), so
/// silence is reported as the card being removed.
fn exchange(
    card: &pcsc::Card,
    reader: &str,
    receive: &mut [u8],
    apdu: &[u8],
) -> Result<Vec<u8>, Error> {
    let response = card
        .transmit(apdu, receive)
        .map_err(|error| map_service_error(error, Some(reader)))?;
    if response.is_empty() {
        return Err(Error::CardRemoved {
            reader: reader.to_owned(),
        });
    }
    Ok(response.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, card_present: bool) -> ReaderInfo {
        ReaderInfo {
            name: name.to_owned(),
            card_present,
            atr: Vec::new(),
        }
    }

    #[test]
    fn exact_name_wins_over_substring() {
        let readers = [
            reader("Virtual PCD 00 00", false),
            reader("Virtual PCD 00 00 extra", true),
        ];
        assert_eq!(
            choose_reader(&readers, Some("Virtual PCD 00 00")).unwrap(),
            "Virtual PCD 00 00"
        );
    }

    #[test]
    fn unique_substring_is_case_insensitive() {
        let readers = [
            reader("Virtual PCD 00 00", true),
            reader("Virtual PCD 00 01", false),
        ];
        assert_eq!(
            choose_reader(&readers, Some("pcd 00 01")).unwrap(),
            "Virtual PCD 00 01"
        );
    }

    #[test]
    fn ambiguous_and_unknown_names_are_errors() {
        let readers = [
            reader("Virtual PCD 00 00", true),
            reader("Virtual PCD 00 01", false),
        ];
        let ambiguous = choose_reader(&readers, Some("Virtual")).unwrap_err();
        assert!(
            matches!(ambiguous, Error::AmbiguousReader { .. }),
            "{ambiguous}"
        );
        let unknown = choose_reader(&readers, Some("Yubico")).unwrap_err();
        assert!(
            unknown.to_string().contains("no reader named \"Yubico\""),
            "{unknown}"
        );
    }

    #[test]
    fn without_a_name_the_first_reader_with_a_card_is_chosen() {
        let readers = [
            reader("Virtual PCD 00 00", false),
            reader("Virtual PCD 00 01", true),
        ];
        assert_eq!(choose_reader(&readers, None).unwrap(), "Virtual PCD 00 01");
        let empty = [reader("Virtual PCD 00 00", false)];
        assert!(matches!(
            choose_reader(&empty, None),
            Err(Error::NoCardInAnyReader { .. })
        ));
        assert!(matches!(choose_reader(&[], None), Err(Error::NoReaders)));
    }
}
