//! The simulated fingerprint sensor and the on-card matcher (patent FIG. 7 ST31–33).
//!
//! A [`Template`] is 256 feature bits. The matcher accepts a sample whose Hamming distance to
//! the enrolled template is at most [`MATCH_THRESHOLD`] bits.
//! - A **genuine** sample is the enrolled template with each bit flipped independently with
//!   probability p, where p itself is drawn per sample uniformly from
//!   [[`GENUINE_NOISE_MIN`], [`GENUINE_NOISE_MAX`]] (some presentations are worse than others:
//!   a dry or misplaced finger). Most genuine samples match; a few noisy ones do not (FRR).
//! - An **impostor** sample is an independent random template (expected distance 128 bits);
//!   it almost never matches (FAR).
//!
//! Samples are deterministic from a `u64` seed, so tests and the virtual card reproduce them.
//! [`measure_rates`] measures FAR and FRR; `docs/card-protocol.md` states the figures.

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Feature bits in a template.
pub const TEMPLATE_BITS: u32 = 256;
/// A sample matches when at most this many bits differ from the enrolled template (~29 %).
pub const MATCH_THRESHOLD: u32 = 74;
/// Lowest per-bit flip probability of a genuine sample.
pub const GENUINE_NOISE_MIN: f64 = 0.02;
/// Highest per-bit flip probability of a genuine sample.
pub const GENUINE_NOISE_MAX: f64 = 0.26;

/// A simulated fingerprint template (256 bits). Biometric data is sensitive: no `Debug`,
/// zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Template(pub(crate) [u8; 32]);

impl Template {
    /// A random finger (enrolment of a new holder).
    pub fn generate(rng: &mut (impl RngCore + CryptoRng + ?Sized)) -> Self {
        let mut bits = [0u8; 32];
        rng.fill_bytes(&mut bits);
        Self(bits)
    }

    /// A finger determined by `seed` (tests and fixtures).
    pub fn from_seed(seed: u64) -> Self {
        let mut stream = SplitMix64::new(seed ^ 0x6669_6e67_6572_0001);
        let mut bits = [0u8; 32];
        stream.fill(&mut bits);
        Self(bits)
    }

    /// Rebuilds a template from its bytes (the state file).
    pub fn dangerous_from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw template, for the card's own state file only.
    pub fn dangerous_to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Hamming distance in bits.
    pub fn distance(&self, other: &Template) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// The matcher's decision (ST32). Not constant-time in the distance, which is fine for a
    /// simulation whose sample never leaves the card.
    pub fn matches(&self, sample: &Template) -> bool {
        self.distance(sample) <= MATCH_THRESHOLD
    }
}

/// What the simulated sensor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "finger")]
pub enum FingerSample {
    /// The holder's own finger; `seed` fixes the noise of this presentation.
    Genuine {
        /// Noise seed.
        seed: u64,
    },
    /// Somebody else's finger; `seed` fixes which one.
    Impostor {
        /// Identity seed.
        seed: u64,
    },
    /// Nothing on the sensor.
    None,
}

impl FingerSample {
    /// Parses the short form used by APDU scripts and the CLI: `genuine:SEED`, `impostor:SEED`,
    /// `none`.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, seed) = match text.split_once(':') {
            Some((kind, seed)) => (kind, Some(seed.parse::<u64>().ok()?)),
            None => (text, None),
        };
        match (kind, seed) {
            ("genuine", Some(seed)) => Some(FingerSample::Genuine { seed }),
            ("impostor", Some(seed)) => Some(FingerSample::Impostor { seed }),
            ("none", None) => Some(FingerSample::None),
            _ => None,
        }
    }
}

impl std::fmt::Display for FingerSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FingerSample::Genuine { seed } => write!(f, "genuine:{seed}"),
            FingerSample::Impostor { seed } => write!(f, "impostor:{seed}"),
            FingerSample::None => f.write_str("none"),
        }
    }
}

/// What the sensor captures when `finger` is presented to a card enrolled with `enrolled`.
/// Deterministic: genuine = `enrolled` with seeded noise; impostor = an unrelated template.
pub fn sample_from(enrolled: &Template, finger: &FingerSample) -> Option<Template> {
    match *finger {
        FingerSample::Genuine { seed } => {
            let mut stream = SplitMix64::new(seed ^ 0x6e6f_6973_6500_0002);
            let p = GENUINE_NOISE_MIN + (GENUINE_NOISE_MAX - GENUINE_NOISE_MIN) * stream.unit();
            let mut bits = enrolled.0;
            for byte in bits.iter_mut() {
                for bit in 0..8 {
                    if stream.unit() < p {
                        *byte ^= 1 << bit;
                    }
                }
            }
            Some(Template(bits))
        }
        FingerSample::Impostor { seed } => {
            let mut stream = SplitMix64::new(seed ^ 0x696d_706f_7374_0003);
            let mut bits = [0u8; 32];
            stream.fill(&mut bits);
            Some(Template(bits))
        }
        FingerSample::None => None,
    }
}

/// The card's fingerprint sensor. The virtual card implements it from `kura card finger`.
pub trait Sensor {
    /// Reads the finger on the sensor now; `None` when there is none.
    fn capture(&mut self) -> Option<Template>;
}

/// A sensor simulating the world: the holder's real `finger` and what is presented now.
pub struct SimulatedSensor {
    finger: Template,
    presented: FingerSample,
}

impl SimulatedSensor {
    /// A sensor whose holder has `finger`; nothing is presented yet.
    pub fn new(finger: Template) -> Self {
        Self {
            finger,
            presented: FingerSample::None,
        }
    }

    /// Presents `sample` for the next captures.
    pub fn present(&mut self, sample: FingerSample) {
        self.presented = sample;
    }

    /// What is presented now.
    pub fn presented(&self) -> FingerSample {
        self.presented
    }
}

impl Sensor for SimulatedSensor {
    fn capture(&mut self) -> Option<Template> {
        sample_from(&self.finger, &self.presented)
    }
}

/// Measured error rates of the simulated matcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchRates {
    /// Trials of each kind.
    pub trials: u64,
    /// Impostor samples accepted.
    pub false_accepts: u64,
    /// Genuine samples rejected.
    pub false_rejects: u64,
}

impl MatchRates {
    /// False-accept rate.
    pub fn far(&self) -> f64 {
        self.false_accepts as f64 / self.trials as f64
    }

    /// False-reject rate.
    pub fn frr(&self) -> f64 {
        self.false_rejects as f64 / self.trials as f64
    }
}

/// Runs `trials` genuine and `trials` impostor presentations against `trials` enrolled
/// fingers (seeds 0..trials) and counts the errors.
pub fn measure_rates(trials: u64) -> MatchRates {
    let mut rates = MatchRates {
        trials,
        false_accepts: 0,
        false_rejects: 0,
    };
    for seed in 0..trials {
        let enrolled = Template::from_seed(seed);
        let genuine = sample_from(&enrolled, &FingerSample::Genuine { seed });
        let impostor = sample_from(&enrolled, &FingerSample::Impostor { seed });
        if !genuine.is_some_and(|s| enrolled.matches(&s)) {
            rates.false_rejects += 1;
        }
        if impostor.is_some_and(|s| enrolled.matches(&s)) {
            rates.false_accepts += 1;
        }
    }
    rates
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small deterministic generator. Simulation only;
/// never used for keys.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_deterministic() {
        let enrolled = Template::from_seed(1);
        let a = sample_from(&enrolled, &FingerSample::Genuine { seed: 5 }).unwrap();
        let b = sample_from(&enrolled, &FingerSample::Genuine { seed: 5 }).unwrap();
        assert!(a == b);
        assert!(sample_from(&enrolled, &FingerSample::None).is_none());
    }

    #[test]
    fn genuine_is_close_and_impostor_is_far() {
        let enrolled = Template::from_seed(3);
        let genuine = sample_from(&enrolled, &FingerSample::Genuine { seed: 3 }).unwrap();
        let impostor = sample_from(&enrolled, &FingerSample::Impostor { seed: 3 }).unwrap();
        assert!(
            enrolled.distance(&genuine) < 80,
            "genuine noise is bounded by 26 % of 256 bits on average"
        );
        assert!(enrolled.distance(&impostor) > 90);
    }

    #[test]
    fn finger_short_form_parses() {
        assert_eq!(
            FingerSample::parse("genuine:7"),
            Some(FingerSample::Genuine { seed: 7 })
        );
        assert_eq!(
            FingerSample::parse("impostor:1"),
            Some(FingerSample::Impostor { seed: 1 })
        );
        assert_eq!(FingerSample::parse("none"), Some(FingerSample::None));
        assert_eq!(FingerSample::parse("genuine"), None);
        assert_eq!(FingerSample::parse("thumb:1"), None);
        assert_eq!(
            FingerSample::parse(&FingerSample::Genuine { seed: 9 }.to_string()),
            Some(FingerSample::Genuine { seed: 9 })
        );
    }

    /// The simulation's figures over 100 000 seeded trials (printed with `--nocapture`;
    /// docs/card-protocol.md quotes them).
    #[test]
    fn far_and_frr_over_100k_trials() {
        let rates = measure_rates(100_000);
        println!(
            "simulated matcher over {} trials: FAR = {} ({:.5} %), FRR = {} ({:.3} %)",
            rates.trials,
            rates.false_accepts,
            rates.far() * 100.0,
            rates.false_rejects,
            rates.frr() * 100.0
        );
        assert!(rates.far() < 1e-4);
        assert!(rates.frr() > 0.0 && rates.frr() < 0.05);
    }
}
