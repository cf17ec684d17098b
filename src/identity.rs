//! age X25519 identities: derivation from the key source, the identity file format
//! (as written by `age-keygen`) and safe loading.

use crate::keysource::KeySource;
use age::secrecy::ExposeSecret;
use age::x25519;
use bech32::{Bech32, Hrp};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Error)]
pub enum IdentityError {
    #[error("cannot read identity file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "identity file {path} is accessible by other users (mode {mode:o}); run `chmod 600 {path}` (or 400) and retry"
    )]
    WorldAccessible { path: PathBuf, mode: u32 },
    #[error(
        "identity file {path} contains no age identity; pass the file written by `sweetlies-appliance new` or age-keygen"
    )]
    NoKey { path: PathBuf },
    #[error("identity file {path}, line {line}: not an age X25519 identity: {reason}")]
    Invalid {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },
}

/// Derives the identity called `label` (e.g. "identity/admin") from the key source.
pub fn derive_identity(keys: &KeySource, label: &str) -> x25519::Identity {
    let secret = keys.bytes::<32>(label);
    let hrp = Hrp::parse("age-secret-key-").expect("valid HRP");
    let encoded = Zeroizing::new(
        bech32::encode::<Bech32>(hrp, secret.as_ref()).expect("32 bytes fit in bech32"),
    );
    let upper = Zeroizing::new(encoded.to_uppercase());
    upper.parse().expect("a freshly encoded identity parses")
}

/// The identity file, in age-keygen's format so `age -d -i` accepts it too.
pub fn identity_file_text(identity: &x25519::Identity, note: &str) -> Zeroizing<String> {
    let secret = identity.to_string();
    Zeroizing::new(format!(
        "# {note}\n# public key: {}\n{}\n",
        identity.to_public(),
        secret.expose_secret()
    ))
}

/// Loads an identity file, refusing one that other users can read or write.
pub fn read_identity_file(path: &Path) -> Result<x25519::Identity, IdentityError> {
    read_identity_file_text(path).map(|(identity, _)| identity)
}

/// The identity and the file's whole text (comments included), checked as `read_identity_file`
/// checks it, from one read: for copying the file somewhere else (a host's seed partition).
pub fn read_identity_file_text(path: &Path) -> Result<(x25519::Identity, Zeroizing<String>), IdentityError> {
    let read_err = |source| IdentityError::Read {
        path: path.to_owned(),
        source,
    };
    let mode = std::fs::metadata(path)
        .map_err(read_err)?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o007 != 0 {
        return Err(IdentityError::WorldAccessible {
            path: path.to_owned(),
            mode,
        });
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(read_err)?);
    // age's identity file format: blank lines, `#` comments and identities. Like `age -d -i`, a
    // line that is none of these is an error; age's own parser judges the identity. The first
    // identity is the one used.
    let (index, line) = text
        .lines()
        .map(str::trim)
        .enumerate()
        .find(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| IdentityError::NoKey {
            path: path.to_owned(),
        })?;
    let identity = line.parse().map_err(|reason| IdentityError::Invalid {
        path: path.to_owned(),
        line: index + 1,
        reason,
    })?;
    Ok((identity, text))
}

/// `$SWEETLIES_CONFIG_DIR` is handled by clap; this is the fallback.
pub fn default_config_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let base = xdg.or_else(|| {
        std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| PathBuf::from(h).join(".config"))
    })?;
    Some(base.join("sweetlies"))
}

pub fn admin_identity_path(config_dir: &Path, org: &str) -> PathBuf {
    admin_identity_in(&config_dir.join(org))
}

pub fn host_identity_path(config_dir: &Path, org: &str, host: &str) -> PathBuf {
    host_identity_in(&config_dir.join(org), host)
}

/// The admin identity inside an org's identity directory (`<config>/<org>`, or the staging
/// directory `new` fills before moving it there).
pub fn admin_identity_in(org_dir: &Path) -> PathBuf {
    org_dir.join("admin.agekey")
}

/// The directory of host identities inside an org's identity directory.
pub fn host_identities_in(org_dir: &Path) -> PathBuf {
    org_dir.join("hosts")
}

pub fn host_identity_in(org_dir: &Path, host: &str) -> PathBuf {
    host_identities_in(org_dir).join(format!("{host}.agekey"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_identities_round_trip_through_the_file_format() {
        let keys = KeySource::from_seed(b"t", "acme");
        let id = derive_identity(&keys, "identity/admin");
        assert_eq!(
            id.to_public().to_string(),
            derive_identity(&keys, "identity/admin")
                .to_public()
                .to_string()
        );
        assert_ne!(
            id.to_public().to_string(),
            derive_identity(&keys, "identity/host/x")
                .to_public()
                .to_string()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        crate::fsutil::write_new(&path, identity_file_text(&id, "test").as_bytes(), 0o600).unwrap();
        let loaded = read_identity_file(&path).unwrap();
        assert_eq!(loaded.to_public().to_string(), id.to_public().to_string());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_identity_file(&path),
            Err(IdentityError::WorldAccessible { .. })
        ));
    }

    #[test]
    fn identity_files_follow_age_format() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            crate::fsutil::write_new(&path, text.as_bytes(), 0o600).unwrap();
            path
        };
        let id = x25519::Identity::generate();
        let secret = id.to_string();
        let ok = write(
            "ok",
            &format!("\n# a comment\n  {}\r\n", secret.expose_secret()),
        );
        assert_eq!(
            read_identity_file(&ok).unwrap().to_public().to_string(),
            id.to_public().to_string()
        );
        let empty = write("empty", "# nothing here\n\n");
        let err = read_identity_file(&empty).err().expect("no identity");
        assert!(matches!(err, IdentityError::NoKey { .. }), "{err}");
        assert!(err.to_string().contains("sweetlies-appliance new"), "{err}");
        // A public key where the secret key belongs: rejected, and its text is not echoed.
        let public = id.to_public().to_string();
        let wrong = write("wrong", &format!("# comment\n{public}\n"));
        let err = read_identity_file(&wrong).err().expect("a public key");
        assert!(
            matches!(err, IdentityError::Invalid { line: 2, .. }),
            "{err}"
        );
        assert!(!err.to_string().contains(&public), "{err}");
    }
}
