//! The simulated fingerprint sensor's input: a small file beside the state file.
//!
//! `kura card finger --state card.json genuine` writes `card.json.finger`; the virtual card
//! reads it at every capture (each match command). The finger is **persistent**: it stays on
//! the sensor until the next `kura card finger`, like a finger resting on a real sensor, so a
//! scripted terminal flow sets it once. With a seed, every capture yields the same sample (a
//! deterministic test); without one, each capture draws a fresh seed (a new press). A missing
//! file means no finger.
//!
//! File syntax, one line: `genuine[:SEED]`, `impostor[:SEED]` or `none`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::state_file::{read_if_exists, write_atomic};
use crate::Error;

/// What lies on the simulated sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finger {
    /// The enrolled holder's finger; `seed` fixes the noise of the sample.
    Genuine { seed: Option<u64> },
    /// Somebody else's finger.
    Impostor { seed: Option<u64> },
    /// Nothing on the sensor.
    None,
}

impl fmt::Display for Finger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, seed) = match self {
            Finger::Genuine { seed } => ("genuine", seed),
            Finger::Impostor { seed } => ("impostor", seed),
            Finger::None => return f.write_str("none"),
        };
        match seed {
            Some(seed) => write!(f, "{name}:{seed}"),
            None => f.write_str(name),
        }
    }
}

impl FromStr for Finger {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, seed) = match text.split_once(':') {
            Some((name, seed)) => {
                let seed = seed
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("bad seed {seed:?}"))?;
                (name.trim(), Some(seed))
            }
            None => (text, None),
        };
        match (name, seed) {
            ("genuine", seed) => Ok(Finger::Genuine { seed }),
            ("impostor", seed) => Ok(Finger::Impostor { seed }),
            ("none", None) => Ok(Finger::None),
            _ => Err(format!(
                "expected genuine[:SEED], impostor[:SEED] or none, got {text:?}"
            )),
        }
    }
}

/// The finger file that belongs to a state file: `STATE.finger`.
pub fn finger_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".finger");
    PathBuf::from(name)
}

/// Puts `finger` on the sensor of the card whose state file is `state_path`.
pub fn set_finger(state_path: &Path, finger: Finger) -> Result<(), Error> {
    let path = finger_path(state_path);
    write_atomic(&path, format!("{finger}\n").as_bytes()).map_err(|error| Error::FingerFile {
        path,
        reason: error.to_string(),
    })
}

/// What is on the sensor now. A missing file is [`Finger::None`].
pub fn read_finger(state_path: &Path) -> Result<Finger, Error> {
    let path = finger_path(state_path);
    let bytes = read_if_exists(&path).map_err(|error| Error::FingerFile {
        path: path.clone(),
        reason: error.to_string(),
    })?;
    let Some(bytes) = bytes else {
        return Ok(Finger::None);
    };
    let text = String::from_utf8(bytes).map_err(|_| Error::FingerFile {
        path: path.clone(),
        reason: "not UTF-8".into(),
    })?;
    text.parse()
        .map_err(|reason| Error::FingerFile { path, reason })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("genuine".parse(), Ok(Finger::Genuine { seed: None }));
        assert_eq!(
            "genuine:42\n".parse(),
            Ok(Finger::Genuine { seed: Some(42) })
        );
        assert_eq!("impostor:7".parse(), Ok(Finger::Impostor { seed: Some(7) }));
        assert_eq!(" none ".parse(), Ok(Finger::None));
        assert!("none:1".parse::<Finger>().is_err());
        assert!("thumb".parse::<Finger>().is_err());
        assert!("genuine:-1".parse::<Finger>().is_err());
    }

    #[test]
    fn file_round_trip_and_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("card.json");
        assert_eq!(finger_path(&state), dir.path().join("card.json.finger"));
        assert_eq!(read_finger(&state).unwrap(), Finger::None);
        set_finger(&state, Finger::Impostor { seed: Some(9) }).unwrap();
        assert_eq!(
            read_finger(&state).unwrap(),
            Finger::Impostor { seed: Some(9) }
        );
        std::fs::write(finger_path(&state), "index finger").unwrap();
        assert!(matches!(read_finger(&state), Err(Error::FingerFile { .. })));
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(kind in 0u8..3, seed in proptest::option::of(any::<u64>())) {
            let finger = match kind {
                0 => Finger::Genuine { seed },
                1 => Finger::Impostor { seed },
                _ => Finger::None,
            };
            prop_assert_eq!(finger.to_string().parse::<Finger>(), Ok(finger));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".*") {
            let _ = text.parse::<Finger>();
        }
    }
}
