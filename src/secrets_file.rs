//! `hosts/<org>/secrets/<host>.age`: an age-encrypted (ASCII-armored) JSON object
//! `{"schemaVersion": 1, "files": {"<relative path>": "<contents>"}}`.

use crate::fsutil;
use crate::spec::SCHEMA_VERSION;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path};
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
    #[error("not an age file or damaged header: {0}")]
    Format(age::DecryptError),
    #[error(
        "the identity is not a recipient of this file: use the identity of this host or the org admin"
    )]
    NoMatchingKey,
    #[error("decryption failed, the file is damaged or was tampered with: {0}")]
    Damaged(String),
    #[error("the decrypted content is not a secrets file: {0}")]
    Shape(String),
    #[error(
        "secrets file has schemaVersion {0}, expected {SCHEMA_VERSION}: use the sweetlies-appliance release that wrote it"
    )]
    Version(u32),
    #[error("secrets file has an unsafe path {0:?} (must be relative, without '..')")]
    UnsafePath(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretsFile {
    pub schema_version: u32,
    pub files: BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile")
            .field("schema_version", &self.schema_version)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SecretsFile {
    pub fn new() -> Self {
        SecretsFile {
            schema_version: SCHEMA_VERSION,
            files: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, path: &str, contents: impl Into<String>) {
        let previous = self
            .files
            .insert(path.to_owned(), Zeroizing::new(contents.into()));
        assert!(previous.is_none(), "secrets file path {path} written twice");
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|s| s.as_str())
    }

    /// Encrypts to every recipient (armored, so that the file diffs sensibly in git).
    pub fn encrypt(&self, recipients: &[age::x25519::Recipient]) -> Result<Vec<u8>, SecretsError> {
        let plaintext =
            Zeroizing::new(serde_json::to_vec(self).expect("serializing strings cannot fail"));
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| SecretsError::Encrypt(e.to_string()))?;
        let io_err = |e: std::io::Error| SecretsError::Encrypt(e.to_string());
        let armored = ArmoredWriter::wrap_output(Vec::new(), Format::AsciiArmor).map_err(io_err)?;
        let mut writer = encryptor.wrap_output(armored).map_err(io_err)?;
        writer.write_all(&plaintext).map_err(io_err)?;
        writer
            .finish()
            .and_then(|armor| armor.finish())
            .map_err(io_err)
    }

    /// Decrypts an armored or binary age file.
    pub fn decrypt(
        ciphertext: &[u8],
        identity: &age::x25519::Identity,
    ) -> Result<Self, SecretsError> {
        let decryptor =
            age::Decryptor::new(ArmoredReader::new(ciphertext)).map_err(SecretsError::Format)?;
        let mut reader = decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => SecretsError::NoMatchingKey,
                other => SecretsError::Damaged(other.to_string()),
            })?;
        let mut plaintext = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut plaintext)
            .map_err(|e| SecretsError::Damaged(e.to_string()))?;
        let version: VersionOnly =
            serde_json::from_slice(&plaintext).map_err(|e| SecretsError::Shape(e.to_string()))?;
        if version.schema_version != SCHEMA_VERSION {
            return Err(SecretsError::Version(version.schema_version));
        }
        let file: SecretsFile =
            serde_json::from_slice(&plaintext).map_err(|e| SecretsError::Shape(e.to_string()))?;
        for path in file.files.keys() {
            check_relative(path)?;
        }
        Ok(file)
    }

    /// Writes every entry below `out` (files 0600 written atomically, new directories 0700).
    pub fn write_to_dir(&self, out: &Path) -> Result<(), SecretsError> {
        for (relative, contents) in &self.files {
            check_relative(relative)?;
            let path = out.join(relative);
            let write_err = |source| SecretsError::Write {
                path: path.display().to_string(),
                source,
            };
            fsutil::create_dir_all_mode(path.parent().expect("joined path has a parent"), 0o700)
                .map_err(write_err)?;
            fsutil::write_atomic(&path, contents.as_bytes(), 0o600).map_err(write_err)?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionOnly {
    schema_version: u32,
}

fn check_relative(path: &str) -> Result<(), SecretsError> {
    let p = Path::new(path);
    let safe = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if safe {
        Ok(())
    } else {
        Err(SecretsError::UnsafePath(path.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_identity() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let mut file = SecretsFile::new();
        file.insert("x/y", "secret");
        let ct = file.encrypt(&[a.to_public()]).unwrap();
        assert!(ct.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        assert_eq!(SecretsFile::decrypt(&ct, &a).unwrap(), file);
        assert!(matches!(
            SecretsFile::decrypt(&ct, &b),
            Err(SecretsError::NoMatchingKey)
        ));
        assert!(!format!("{file:?}").contains("secret\""));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        assert!(check_relative("tls/ca.crt").is_ok());
    }
}
