//! Profiles cached by `dataset_hash` under `<data-dir>/cache/profiles/` (SPEC 5.1): profiling
//! runs in the sandbox once per dataset bytes, dialect and sandbox image.

use serde::{Deserialize, Serialize};

use super::{Dataset, Dialect, Profile};
use crate::record::{DataLayout, write_json_atomic};
use crate::sandbox::{DatasetLease, SandboxError};

#[derive(Debug, Serialize, Deserialize)]
struct CachedProfile {
    dataset_hash: String,
    dialect: Dialect,
    image_tag: String,
    profile: Profile,
}

/// The cached profile of `dataset` if one exists for the same bytes, dialect and image tag.
pub fn cached_profile(layout: &DataLayout, dataset: &Dataset, image_tag: &str) -> Option<Profile> {
    let text = std::fs::read_to_string(layout.profile_cache(&dataset.dataset_hash)).ok()?;
    let cached: CachedProfile = serde_json::from_str(&text).ok()?;
    (cached.dataset_hash == dataset.dataset_hash
        && cached.dialect == dataset.dialect
        && cached.image_tag == image_tag)
        .then_some(cached.profile)
}

/// The profile of the dataset loaded in `lease`: from the cache when it matches, else computed
/// in the sandbox and cached (a failed cache write is logged, not an error).
///
/// # Errors
/// [`SandboxError`] when profiling in the sandbox fails (the dataset is then unusable for this
/// run, with that reason).
pub async fn profile_with_cache(
    layout: &DataLayout,
    dataset: &Dataset,
    lease: &DatasetLease,
    image_tag: &str,
) -> Result<Profile, SandboxError> {
    if let Some(p) = cached_profile(layout, dataset, image_tag) {
        return Ok(p);
    }
    let profile = lease.profile().await?;
    let entry = CachedProfile {
        dataset_hash: dataset.dataset_hash.clone(),
        dialect: dataset.dialect.clone(),
        image_tag: image_tag.to_owned(),
        profile: profile.clone(),
    };
    if let Err(e) = write_json_atomic(&layout.profile_cache(&dataset.dataset_hash), &entry) {
        tracing::warn!(dataset = %dataset.name, "cannot cache the profile: {e}");
    }
    Ok(profile)
}
