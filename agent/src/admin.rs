//! The owner's admin credential (issue 4, owner access).
//!
//! `kura init` draws a 256-bit secret and writes it to a file created with mode 0600. The owner
//! presents it (e.g. as an HTTP bearer value) to list or delete credentials and read the history.
//! The repository keeps only its SHA-256 in memory ([`AdminVerifier`]) and compares in constant
//! time. The file's text form is `kura_admin_` followed by the secret in unpadded base64url.

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// The secret's length in bytes (256 bits).
pub const ADMIN_SECRET_LEN: usize = 32;

/// The text form's prefix: it makes a leaked secret recognisable to secret scanners.
pub const ADMIN_SECRET_PREFIX: &str = "kura_admin_";

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The admin secret. No `Debug`, no `Display`; zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct AdminSecret([u8; ADMIN_SECRET_LEN]);

impl AdminSecret {
    /// Draws a new secret. Production passes `rand_core::OsRng`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> AdminSecret {
        let mut bytes = [0u8; ADMIN_SECRET_LEN];
        rng.fill_bytes(&mut bytes);
        AdminSecret(bytes)
    }

    /// Parses the text form (surrounding whitespace, e.g. the file's newline, is ignored).
    pub fn parse(text: &str) -> Result<AdminSecret> {
        let invalid = || Error::InvalidInput("not a kura admin credential".into());
        let encoded = text
            .trim()
            .strip_prefix(ADMIN_SECRET_PREFIX)
            .ok_or_else(invalid)?;
        let bytes = Zeroizing::new(BASE64.decode(encoded).map_err(|_| invalid())?);
        let array: [u8; ADMIN_SECRET_LEN] = bytes.as_slice().try_into().map_err(|_| invalid())?;
        Ok(AdminSecret(array))
    }

    /// The text form, for writing the file or handing it to a client once. Leaks the secret.
    pub fn dangerous_to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{ADMIN_SECRET_PREFIX}{}", BASE64.encode(self.0)))
    }

    /// What the server keeps to check presented secrets.
    pub fn verifier(&self) -> AdminVerifier {
        AdminVerifier {
            digest: Sha256::digest(self.0).into(),
        }
    }
}

/// Checks presented admin secrets against the SHA-256 of the real one, in constant time.
#[derive(Clone)]
pub struct AdminVerifier {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("AdminVerifier { .. }")
    }
}

impl AdminVerifier {
    /// True when `presented` (the text form) is the admin secret. Comparing SHA-256 digests with
    /// `subtle` keeps the time independent of where a wrong secret differs.
    pub fn verify(&self, presented: &str) -> bool {
        let Ok(secret) = AdminSecret::parse(presented) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(secret.0).into();
        digest.ct_eq(&self.digest).into()
    }
}

fn file_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::AdminCredential {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Creates the admin credential file at `path` (which must not exist) with mode 0600 from the
/// start, writes a fresh secret, syncs it to disk, and returns the secret.
#[cfg(unix)]
pub fn create_admin_credential<R: RngCore + CryptoRng>(
    path: &Path,
    rng: &mut R,
) -> Result<AdminSecret> {
    let secret = AdminSecret::generate(rng);
    let mut text = secret.dangerous_to_text();
    text.push('\n');
    write_private(path, text.as_bytes())?;
    Ok(secret)
}

/// Writes `bytes` to a new file at `path` (which must not exist) with mode 0600 from the
/// start, synced. `create_new` + `mode`: the file never exists with wider permissions, not even
/// briefly, and an existing file (a key, a credential) is never overwritten.
#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| file_error(path, format!("cannot create: {error}")))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| file_error(path, format!("cannot write: {error}")))
}

/// Reads the admin credential file. A file that group or others can read or write is refused,
/// as ssh does with private keys: the secret in it must be presumed leaked.
#[cfg(unix)]
pub fn load_admin_credential(path: &Path) -> Result<AdminSecret> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(path)
        .map_err(|error| file_error(path, format!("cannot read: {error}")))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(file_error(
            path,
            format!("permissions {mode:o} are too open; the file must be 0600"),
        ));
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|error| file_error(path, format!("cannot read: {error}")))?,
    );
    AdminSecret::parse(&text).map_err(|_| file_error(path, "not a kura admin credential"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn text_form_round_trips_and_verifies() {
        let secret = AdminSecret::generate(&mut OsRng);
        let text = secret.dangerous_to_text();
        assert!(text.starts_with(ADMIN_SECRET_PREFIX));
        let parsed = AdminSecret::parse(&text).expect("parse");
        assert_eq!(parsed.0, secret.0);
        assert!(secret.verifier().verify(&text));
        assert!(secret.verifier().verify(&format!("  {}\n", text.as_str())));
    }

    #[test]
    fn wrong_or_malformed_secrets_are_refused() {
        let secret = AdminSecret::generate(&mut OsRng);
        let verifier = secret.verifier();
        let other = AdminSecret::generate(&mut OsRng);
        assert!(!verifier.verify(&other.dangerous_to_text()));
        let owned = secret.dangerous_to_text();
        let text = owned.as_str();
        for bad in [
            "",
            "kura_admin_",
            &text[ADMIN_SECRET_PREFIX.len()..],
            &text[..text.len() - 1],
            format!("{text}A").as_str(),
            "kura_admin_!!!!",
        ] {
            assert!(!verifier.verify(bad), "accepted {bad:?}");
        }
        // Flipping any one character of the encoded secret is refused.
        for index in ADMIN_SECRET_PREFIX.len()..text.len() {
            let mut changed = text.as_bytes().to_vec();
            changed[index] = if changed[index] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).expect("ascii");
            assert!(!verifier.verify(&changed), "accepted a change at {index}");
        }
    }

    #[test]
    fn file_is_created_0600_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("admin.secret");
        let secret = create_admin_credential(&path, &mut OsRng).expect("create");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = load_admin_credential(&path).expect("load");
        assert!(secret.verifier().verify(&loaded.dangerous_to_text()));
        let again = create_admin_credential(&path, &mut OsRng);
        assert!(matches!(again, Err(Error::AdminCredential { .. })));
        // The first secret is still the one on disk.
        let reloaded = load_admin_credential(&path).expect("reload");
        assert_eq!(reloaded.0, secret.0);
    }

    #[test]
    fn loose_permissions_and_garbage_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("admin.secret");
        create_admin_credential(&path, &mut OsRng).expect("create");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = load_admin_credential(&path).err().expect("refused");
        assert!(error.to_string().contains("too open"), "{error}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&path, "not a secret\n").expect("write");
        assert!(load_admin_credential(&path).is_err());
        assert!(load_admin_credential(&dir.path().join("missing")).is_err());
    }
}
