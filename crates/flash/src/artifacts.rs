//! What `build` writes next to an image: `<image>.sha256` (sha256sum format) and, for raw
//! images, `<image>.bmap`. Both are written atomically (temp file, fsync, rename).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bmap::{BlockMap, BmapError};

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot hash {path}: {cause}")]
    Hash { path: String, cause: io::Error },
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: io::Error },
    #[error(transparent)]
    Bmap(#[from] BmapError),
}

#[derive(Debug, Clone)]
pub struct Artifacts {
    pub sha256: [u8; 32],
    pub sha256_file: PathBuf,
    /// The block map and its summary, for raw images.
    pub bmap: Option<(PathBuf, BlockMap)>,
}

/// Hashes `image` (read through `link`, the name the operator will use) and writes
/// `<link>.sha256` and, when `raw`, `<link>.bmap`.
pub fn write_image_artifacts(link: &Path, raw: bool) -> Result<Artifacts, ArtifactError> {
    let sha256 = sha256_file(link)?;
    let name = link
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sha256_file = with_suffix(link, ".sha256");
    write_atomically(
        &sha256_file,
        format!("{}  {name}\n", hex::encode(sha256)).as_bytes(),
    )?;
    let bmap = if raw {
        let map = BlockMap::from_image(link)?;
        let path = with_suffix(link, ".bmap");
        write_atomically(&path, map.to_xml().as_bytes())?;
        Some((path, map))
    } else {
        None
    };
    Ok(Artifacts {
        sha256,
        sha256_file,
        bmap,
    })
}

pub fn sha256_file(path: &Path) -> Result<[u8; 32], ArtifactError> {
    let hash_err = |source| ArtifactError::Hash {
        path: path.display().to_string(),
        cause: source,
    };
    let mut file = File::open(path).map_err(hash_err)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 4 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(hash_err)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().into())
}

pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), ArtifactError> {
    let write_err = |source| ArtifactError::Write {
        path: path.display().to_string(),
        cause: source,
    };
    let temporary = with_suffix(path, &format!(".tmp{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(write_err)
}
