//! Where the tests of every dwell crate find the shared test data (`../shared` beside the
//! repository, or `$DWELL_SHARED`), and the one policy for its absence: a user's clone skips
//! the tests that need it, saying so; CI (`CI=true`) fails them.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// The shared test data's folder (holding `data/` and `docs/`), or `None`, with a note on
/// standard error, when it is absent outside CI.
///
/// # Panics
/// When it is absent under CI.
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("DWELL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.join("data").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the shared test data is missing under CI: {}",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: the shared test data ({}) is absent; set DWELL_SHARED to run these tests",
        dir.display()
    );
    None
}
