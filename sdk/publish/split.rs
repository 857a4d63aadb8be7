//! Splits by dataset (SPEC 9.2): every episode of a table lands in the same split, so nothing
//! leaks between train and test, and a dataset's split never changes as data grows.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::options::SplitConfig;

/// A Hub split name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// `train`.
    Train,
    /// `validation` (never `val`).
    Validation,
    /// `test`.
    Test,
}

impl Split {
    /// All splits in card order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// `train`, `validation` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The draw `u` in `[0, 1)` of a dataset: the first 8 bytes of SHA-256(`"<seed>:<dataset_hash>"`)
/// read as a big-endian `u64`, divided by 2^64.
pub fn split_draw(seed: u64, dataset_hash: &str) -> f64 {
    let digest = Sha256::digest(format!("{seed}:{dataset_hash}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // u64 -> f64 rounds to 53 bits; the division by 2^64 is exact.
    u64::from_be_bytes(first) as f64 / 18_446_744_073_709_551_616.0
}

/// The split of the dataset whose CSV bytes hash to `dataset_hash` (64 lowercase hex).
///
/// `u < train` gives `train`, `u < train + validation` gives `validation`, otherwise `test`.
pub fn assign_split(config: &SplitConfig, dataset_hash: &str) -> Split {
    let u = split_draw(config.seed, dataset_hash);
    if u < config.train {
        Split::Train
    } else if u < config.train + config.validation {
        Split::Validation
    } else {
        Split::Test
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected draws computed independently with Python's hashlib over the real Kaggle CSVs'
    // hashes: int.from_bytes(sha256(f"42:{h}").digest()[:8], "big") / 2**64.
    const POKEMON: &str = "02eabc49d3c70bc1e150891bdb9acb254910adfdfc12a6020c7b7117b2eca32f";
    const VIDEOGAMES: &str = "e2076095ffcae2a92dbc6de6ecbd54455ee034bb38da550b2dc385e9265d4ebe";
    const RED_WINE: &str = "d6a0d9bd24806944818795f22500c46cb6424cbff517aacda36595d3ed9b2daa";

    #[test]
    fn draw_matches_independently_computed_values() {
        assert_eq!(split_draw(42, "abc"), 0.2983567880177597);
        assert_eq!(split_draw(42, POKEMON), 0.4942797791965072);
        assert_eq!(split_draw(42, VIDEOGAMES), 0.8779618287904399);
        assert_eq!(split_draw(42, RED_WINE), 0.9731940284270322);
    }

    #[test]
    fn real_datasets_land_in_their_spec_splits() {
        let config = SplitConfig::default();
        assert_eq!(assign_split(&config, POKEMON), Split::Train);
        assert_eq!(assign_split(&config, VIDEOGAMES), Split::Validation);
        assert_eq!(assign_split(&config, RED_WINE), Split::Test);
    }

    #[test]
    fn the_seed_changes_the_assignment_and_the_same_inputs_do_not() {
        let hashes: Vec<String> = (0..200).map(|i| format!("{i:064x}")).collect();
        let assign = |config: &SplitConfig| -> Vec<Split> {
            hashes.iter().map(|h| assign_split(config, h)).collect()
        };
        let a = assign(&SplitConfig::default());
        assert_eq!(a, assign(&SplitConfig::default()));
        let other_seed = SplitConfig {
            seed: 7,
            ..SplitConfig::default()
        };
        assert_ne!(a, assign(&other_seed));
        // 200 draws at 0.8/0.1/0.1: every split occurs and train dominates.
        let train = a.iter().filter(|s| **s == Split::Train).count();
        assert!((130..=185).contains(&train), "{train}");
        assert!(a.contains(&Split::Validation) && a.contains(&Split::Test));
    }
}
