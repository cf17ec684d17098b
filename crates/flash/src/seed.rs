//! The seed partition: a small FAT filesystem labelled `SWEETSEED` in the image's GPT, into
//! which flashing writes the host's age identity as `host.agekey` (docs/org-spec.md). The
//! filesystem is edited in place through its byte range; nothing is mounted. Finding and
//! checking the identity file is the CLI's job (`src/identity.rs`); this writes given bytes.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

pub const SEED_LABEL: &str = "SWEETSEED";
pub const IDENTITY_FILE: &str = "host.agekey";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the target has no GPT partition table, so it has no seed partition")]
    NoPartitionTable,
    #[error(
        "no partition named or labelled {SEED_LABEL} on the target (partitions: {0}); was the image built with modules/image.nix?"
    )]
    NoSeedPartition(String),
    #[error("seed partition {partition} is not a FAT filesystem this tool can edit: {cause}")]
    NotFat { partition: u32, cause: io::Error },
    #[error("cannot write {IDENTITY_FILE} into seed partition {partition}: {cause}")]
    Write { partition: u32, cause: io::Error },
    #[error(
        "{IDENTITY_FILE} read back from seed partition {partition} differs from what was written"
    )]
    ReadBack { partition: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// 1-based partition number, as in /dev/sdX<n>.
    pub partition: u32,
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct GptPartition {
    pub number: u32,
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// Reads the GPT (primary header at LBA 1), trying 512- and 4096-byte sectors.
pub fn read_gpt(disk: &File) -> Result<Vec<GptPartition>, SeedError> {
    for sector in [512u64, 4096] {
        let mut header = [0u8; 92];
        if disk.read_exact_at(&mut header, sector).is_err() || &header[..8] != b"EFI PART" {
            continue;
        }
        let entries_lba = u64::from_le_bytes(header[72..80].try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(header[80..84].try_into().expect("4 bytes")).min(1024);
        let entry_size = u32::from_le_bytes(header[84..88].try_into().expect("4 bytes")) as u64;
        if entry_size < 128 {
            continue;
        }
        let mut table = vec![0u8; (count as u64 * entry_size) as usize];
        if disk
            .read_exact_at(&mut table, entries_lba * sector)
            .is_err()
        {
            continue;
        }
        let partitions = table
            .chunks(entry_size as usize)
            .enumerate()
            .filter_map(|(index, entry)| {
                if entry[..16].iter().all(|byte| *byte == 0) {
                    return None;
                }
                let first = u64::from_le_bytes(entry[32..40].try_into().expect("8 bytes"));
                let last = u64::from_le_bytes(entry[40..48].try_into().expect("8 bytes"));
                let name_units: Vec<u16> = entry[56..128]
                    .chunks(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .take_while(|unit| *unit != 0)
                    .collect();
                Some(GptPartition {
                    number: index as u32 + 1,
                    name: String::from_utf16_lossy(&name_units),
                    offset: first * sector,
                    size: (last + 1 - first) * sector,
                })
            })
            .collect();
        return Ok(partitions);
    }
    Err(SeedError::NoPartitionTable)
}

/// Finds the seed partition by GPT name, else by FAT volume label.
pub fn find_seed_partition(disk: &File) -> Result<GptPartition, SeedError> {
    let partitions = read_gpt(disk)?;
    if let Some(partition) = partitions
        .iter()
        .find(|partition| partition.name == SEED_LABEL)
    {
        return Ok(partition.clone());
    }
    for partition in &partitions {
        let Ok(filesystem) =
            fatfs::FileSystem::new(Region::new(disk, partition), fatfs::FsOptions::new())
        else {
            continue;
        };
        if filesystem.volume_label().trim() == SEED_LABEL {
            return Ok(partition.clone());
        }
    }
    let names = partitions
        .iter()
        .map(|partition| format!("{}:{:?}", partition.number, partition.name))
        .collect::<Vec<_>>()
        .join(", ");
    Err(SeedError::NoSeedPartition(names))
}

/// Writes `identity` as `host.agekey` into the seed partition of `disk`, syncs, and reads it
/// back through a fresh FAT mount of the same bytes.
pub fn write_identity(disk: &File, identity: &[u8]) -> Result<SeedReport, SeedError> {
    let partition = find_seed_partition(disk)?;
    let number = partition.number;
    let open = || {
        fatfs::FileSystem::new(Region::new(disk, &partition), fatfs::FsOptions::new()).map_err(
            |source| SeedError::NotFat {
                partition: number,
                cause: source,
            },
        )
    };
    let write_err = |source| SeedError::Write {
        partition: number,
        cause: source,
    };
    {
        let filesystem = open()?;
        let mut file = filesystem
            .root_dir()
            .create_file(IDENTITY_FILE)
            .map_err(write_err)?;
        file.truncate().map_err(write_err)?;
        file.write_all(identity).map_err(write_err)?;
        file.flush().map_err(write_err)?;
        drop(file);
        filesystem.unmount().map_err(write_err)?;
    }
    disk.sync_all().map_err(write_err)?;
    let filesystem = open()?;
    let mut read_back = Vec::new();
    filesystem
        .root_dir()
        .open_file(IDENTITY_FILE)
        .and_then(|mut file| file.read_to_end(&mut read_back))
        .map_err(write_err)?;
    if read_back != identity {
        return Err(SeedError::ReadBack { partition: number });
    }
    Ok(SeedReport {
        partition: number,
        offset: partition.offset,
        size: partition.size,
    })
}

/// A partition's byte range of the disk as a seekable stream, for the FAT library.
struct Region<'a> {
    disk: &'a File,
    offset: u64,
    size: u64,
    position: u64,
}

impl<'a> Region<'a> {
    fn new(disk: &'a File, partition: &GptPartition) -> Self {
        Self {
            disk,
            offset: partition.offset,
            size: partition.size,
            position: 0,
        }
    }

    fn available(&self, wanted: usize) -> usize {
        (self.size.saturating_sub(self.position)).min(wanted as u64) as usize
    }
}

impl Read for Region<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let length = self.available(buffer.len());
        let read = self
            .disk
            .read_at(&mut buffer[..length], self.offset + self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Write for Region<'_> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let length = self.available(buffer.len());
        if length == 0 && !buffer.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the seed partition",
            ));
        }
        let written = self
            .disk
            .write_at(&buffer[..length], self.offset + self.position)?;
        self.position += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Region<'_> {
    fn seek(&mut self, target: SeekFrom) -> io::Result<u64> {
        let position = match target {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
        };
        match position {
            Some(position) if position <= self.size => {
                self.position = position;
                Ok(position)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the seed partition",
            )),
        }
    }
}
