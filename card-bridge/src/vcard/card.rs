//! [`VirtualCard`]: the card application with its state file and its file-fed sensor.

use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

use super::finger::{read_finger, Finger};
use super::state_file::{read_if_exists, write_atomic};
use crate::apdu::StatusWord;
use crate::applet::Applet;
use crate::card::{sample_from, CardApplication, CardState, FingerSample, Sensor, Template};
use crate::Error;

/// The simulated sensor of a virtual card: at each capture it reads the finger file that
/// `kura card finger` wrote beside the state file (see [`super::finger`]).
pub struct FileSensor {
    state_path: PathBuf,
    /// The holder's real finger, which a genuine sample is a noisy copy of.
    holder: Template,
    /// Why the last capture found no usable finger file, if it did not.
    last_error: Option<Error>,
}

impl FileSensor {
    /// The sensor of the card stored at `state_path`, whose holder's finger is `holder`.
    pub fn new(state_path: &Path, holder: Template) -> Self {
        Self {
            state_path: state_path.to_path_buf(),
            holder,
            last_error: None,
        }
    }

    /// Why the last capture read no finger although a finger file was there.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }
}

impl Sensor for FileSensor {
    fn capture(&mut self) -> Option<Template> {
        let finger = match read_finger(&self.state_path) {
            Ok(finger) => finger,
            Err(error) => {
                // An unreadable finger file reads as "no finger": the match fails closed.
                self.last_error = Some(error);
                return None;
            }
        };
        self.last_error = None;
        // Without a seed every capture is a fresh press: a new random noise pattern.
        let sample = match finger {
            Finger::Genuine { seed } => FingerSample::Genuine {
                seed: seed.unwrap_or_else(|| OsRng.next_u64()),
            },
            Finger::Impostor { seed } => FingerSample::Impostor {
                seed: seed.unwrap_or_else(|| OsRng.next_u64()),
            },
            Finger::None => FingerSample::None,
        };
        sample_from(&self.holder, &sample)
    }
}

/// The card of patent FIG. 2 as a process: [`CardApplication`] with its non-volatile state in a
/// state file (the EEPROM), a [`FileSensor`], and the operating system's randomness.
///
/// Every command whose processing changed the non-volatile state (a retry counter, a new key)
/// is persisted atomically *before* its response leaves the card: a card that answers 63Cx has
/// already recorded the failed attempt (P2), whatever happens to the process next.
pub struct VirtualCard {
    app: CardApplication,
    sensor: FileSensor,
    state_path: PathBuf,
    nv_writes: u64,
    last_persist_error: Option<Error>,
}

impl VirtualCard {
    /// Writes `state` as a new card at `path` (mode 0600). An existing file is refused unless
    /// `overwrite` is set.
    pub fn create(path: &Path, state: &CardState, overwrite: bool) -> Result<(), Error> {
        if !overwrite && path.exists() {
            return Err(state_file_error(
                path,
                "already exists (a card is there; overwrite it only on purpose)",
            ));
        }
        write_atomic(path, &state.to_json())
            .map_err(|error| state_file_error(path, &error.to_string()))
    }

    /// Loads the card stored at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let bytes = read_if_exists(path)
            .map_err(|error| state_file_error(path, &error.to_string()))?
            .ok_or_else(|| {
                state_file_error(path, "does not exist (create a card with `kura card new`)")
            })?;
        let state = CardState::from_json(&bytes)
            .map_err(|error| state_file_error(path, &error.to_string()))?;
        let sensor = FileSensor::new(path, state.dangerous_enrolled_template().clone());
        Ok(Self {
            app: CardApplication::new(state),
            sensor,
            state_path: path.to_path_buf(),
            nv_writes: 0,
            last_persist_error: None,
        })
    }

    /// The card's non-volatile state as it is in memory (and on disk, unless a write failed).
    pub fn state(&self) -> &CardState {
        self.app.state()
    }

    /// The state file.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// How many times the state file was rewritten since `open`.
    pub fn nv_writes(&self) -> u64 {
        self.nv_writes
    }

    /// The sensor (to ask why the last capture failed).
    pub fn sensor(&self) -> &FileSensor {
        &self.sensor
    }

    /// Why the last state-file write failed, if one did (the card then answered 6581).
    pub fn last_persist_error(&self) -> Option<&Error> {
        self.last_persist_error.as_ref()
    }
}

impl Applet for VirtualCard {
    fn atr(&self) -> Vec<u8> {
        self.app.atr()
    }

    fn power_on(&mut self) {
        // A fresh card session: nothing volatile survives (P1).
        self.app.reset();
    }

    fn power_off(&mut self) {
        self.app.power_off();
    }

    fn reset(&mut self) {
        self.app.reset();
    }

    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        let (response, changed) = self.app.process(command, &mut self.sensor, &mut OsRng);
        if !changed {
            return response;
        }
        match write_atomic(&self.state_path, &self.app.state().to_json()) {
            Ok(()) => {
                self.nv_writes += 1;
                self.last_persist_error = None;
                response
            }
            Err(error) => {
                // ISO 7816-4 §5.6 6581 "memory failure": the answer is withheld, since it may
                // reveal a result (a match) whose cost (a retry) is not on disk. The session is
                // dropped so that nothing proceeds on state that is not durable.
                self.last_persist_error =
                    Some(state_file_error(&self.state_path, &error.to_string()));
                self.app.reset();
                u16::from(StatusWord::MemoryFailure).to_be_bytes().to_vec()
            }
        }
    }
}

fn state_file_error(path: &Path, reason: &str) -> Error {
    Error::StateFile {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests;
