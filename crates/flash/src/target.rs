//! What the target is (block device or file) and whether it is safe to overwrite: not mounted,
//! no partition mounted, not held by device-mapper/RAID, not swap, large enough.

use std::fs;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::bmap::human_size;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target {0} does not exist; to flash into a file, create it first (`touch {0}`)")]
    Missing(String),
    #[error("target {0} is a directory; give a block device such as /dev/sdX or an image file")]
    Directory(String),
    #[error("target {0} is neither a block device nor a regular file")]
    Unsupported(String),
    #[error("target {0} is the image itself")]
    SameAsImage(String),
    #[error("cannot inspect target {path}: {cause}")]
    Io { path: String, cause: io::Error },
    #[error("refusing {device}: {what} is mounted at {mount_point}{root}; unmount it first (`umount {mount_point}`)",
        root = if mount_point == "/" { " (it holds the running system's root filesystem)" } else { "" })]
    Mounted {
        device: String,
        what: String,
        mount_point: String,
    },
    #[error(
        "refusing {device}: {what} is in use by {holder} (device-mapper, LVM or RAID); deactivate it first"
    )]
    Held {
        device: String,
        what: String,
        holder: String,
    },
    #[error("refusing {device}: {what} is active swap; `swapoff {what}` first")]
    Swap { device: String, what: String },
    #[error("refusing {device}: it is read-only")]
    ReadOnly { device: String },
    #[error("refusing {device}: it holds {} but the image needs {}", human_size(*.device_size), human_size(*.image_size))]
    TooSmall {
        device: String,
        device_size: u64,
        image_size: u64,
    },
    #[error(
        "refusing to overwrite {0} without confirmation: standard input is not a terminal; pass --yes to confirm"
    )]
    NoConfirmation(String),
    #[error("not overwriting {0}: not confirmed")]
    Declined(String),
}

#[derive(Debug, Clone)]
pub enum TargetKind {
    BlockDevice(BlockDevice),
    /// A regular file; `size` is its current length (it grows to the image's size).
    File,
}

#[derive(Debug, Clone)]
pub struct BlockDevice {
    /// Kernel name, e.g. `sda` or `loop3`.
    pub name: String,
    pub sysfs: PathBuf,
    /// Model/vendor for disks, the backing file for loop devices.
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    pub kind: TargetKind,
    pub size: u64,
}

impl Target {
    /// Classifies `path`; refuses missing paths, directories and other file types.
    pub fn inspect(path: &Path) -> Result<Self, TargetError> {
        let shown = path.display().to_string();
        let metadata = match fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(TargetError::Missing(shown));
            }
            Err(source) => {
                return Err(TargetError::Io {
                    path: shown,
                    cause: source,
                });
            }
        };
        let io_err = |source| TargetError::Io {
            path: shown.clone(),
            cause: source,
        };
        if metadata.is_dir() {
            return Err(TargetError::Directory(shown));
        }
        if metadata.is_file() {
            return Ok(Self {
                path: path.to_path_buf(),
                kind: TargetKind::File,
                size: metadata.len(),
            });
        }
        if !metadata.file_type().is_block_device() {
            return Err(TargetError::Unsupported(shown));
        }
        let rdev = metadata.rdev();
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        let sysfs = fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).map_err(io_err)?;
        let name = sysfs
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sectors: u64 = read_trimmed(&sysfs.join("size")).parse().unwrap_or(0);
        let disk = if sysfs.join("partition").exists() {
            sysfs.parent().unwrap_or(&sysfs).to_path_buf()
        } else {
            sysfs.clone()
        };
        let description = describe_disk(&disk);
        Ok(Self {
            path: path.to_path_buf(),
            kind: TargetKind::BlockDevice(BlockDevice {
                name,
                sysfs,
                description,
            }),
            size: sectors * 512,
        })
    }

    /// "/dev/sdb (SanDisk Ultra, 29.8 GiB)" — what the confirmation prompt names.
    pub fn describe(&self) -> String {
        match &self.kind {
            TargetKind::BlockDevice(device) => format!(
                "{} ({}, {})",
                self.path.display(),
                device.description,
                human_size(self.size)
            ),
            TargetKind::File => {
                format!("{} (file, {})", self.path.display(), human_size(self.size))
            }
        }
    }

    /// Refuses a device that is mounted, holds a mounted partition, is held by another
    /// device, is swap, read-only or smaller than the image. Files only must not be the image.
    pub fn check_safe(&self, image: &Path, image_size: u64) -> Result<(), TargetError> {
        let shown = self.path.display().to_string();
        let (Ok(target_meta), Ok(image_meta)) = (fs::metadata(&self.path), fs::metadata(image))
        else {
            return Err(TargetError::Missing(shown));
        };
        if target_meta.dev() == image_meta.dev() && target_meta.ino() == image_meta.ino() {
            return Err(TargetError::SameAsImage(shown));
        }
        let TargetKind::BlockDevice(device) = &self.kind else {
            return Ok(());
        };
        let members = device_and_partitions(&device.sysfs);
        let mountinfo =
            fs::read_to_string("/proc/self/mountinfo").map_err(|source| TargetError::Io {
                path: "/proc/self/mountinfo".into(),
                cause: source,
            })?;
        for mount in parse_mountinfo(&mountinfo) {
            let source_path = fs::canonicalize(&mount.source).ok();
            if let Some(member) = members.iter().find(|member| {
                member.dev == mount.dev
                    || source_path.as_deref() == Some(Path::new(&format!("/dev/{}", member.name)))
            }) {
                return Err(TargetError::Mounted {
                    device: shown,
                    what: format!("/dev/{}", member.name),
                    mount_point: mount.mount_point,
                });
            }
        }
        for member in &members {
            if let Ok(holders) = fs::read_dir(member.sysfs.join("holders")) {
                if let Some(holder) = holders.flatten().next() {
                    return Err(TargetError::Held {
                        device: shown,
                        what: format!("/dev/{}", member.name),
                        holder: holder.file_name().to_string_lossy().into_owned(),
                    });
                }
            }
        }
        let swaps = fs::read_to_string("/proc/swaps").unwrap_or_default();
        for line in swaps.lines().skip(1) {
            let Some(swap) = line.split_whitespace().next() else {
                continue;
            };
            let swap = fs::canonicalize(swap).unwrap_or_else(|_| PathBuf::from(swap));
            if let Some(member) = members
                .iter()
                .find(|member| swap == Path::new(&format!("/dev/{}", member.name)))
            {
                return Err(TargetError::Swap {
                    device: shown,
                    what: format!("/dev/{}", member.name),
                });
            }
        }
        if read_trimmed(&device.sysfs.join("ro")) == "1" {
            return Err(TargetError::ReadOnly { device: shown });
        }
        if self.size < image_size {
            return Err(TargetError::TooSmall {
                device: shown,
                device_size: self.size,
                image_size,
            });
        }
        Ok(())
    }

    /// Block devices and non-empty files are overwritten only after the operator typed "yes"
    /// (or passed `--yes`).
    pub fn confirm(
        &self,
        assume_yes: bool,
        stdin_is_terminal: bool,
        input: &mut dyn BufRead,
        prompt: &mut dyn Write,
    ) -> Result<(), TargetError> {
        let needs_confirmation = matches!(self.kind, TargetKind::BlockDevice(_)) || self.size > 0;
        if assume_yes || !needs_confirmation {
            return Ok(());
        }
        let shown = self.describe();
        if !stdin_is_terminal {
            return Err(TargetError::NoConfirmation(shown));
        }
        let io_err = |source| TargetError::Io {
            path: "standard input".into(),
            cause: source,
        };
        write!(
            prompt,
            "Overwrite {shown}? Everything on it will be lost. Type 'yes' to continue: "
        )
        .map_err(io_err)?;
        prompt.flush().map_err(io_err)?;
        let mut answer = String::new();
        input.read_line(&mut answer).map_err(io_err)?;
        if answer.trim() == "yes" {
            Ok(())
        } else {
            Err(TargetError::Declined(shown))
        }
    }
}

struct Member {
    name: String,
    sysfs: PathBuf,
    dev: String,
}

/// The device itself and, for a whole disk, each of its partitions.
fn device_and_partitions(sysfs: &Path) -> Vec<Member> {
    let member = |path: &Path| Member {
        name: path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sysfs: path.to_path_buf(),
        dev: read_trimmed(&path.join("dev")),
    };
    let mut members = vec![member(sysfs)];
    if let Ok(entries) = fs::read_dir(sysfs) {
        for entry in entries.flatten() {
            if entry.path().join("partition").exists() {
                members.push(member(&entry.path()));
            }
        }
    }
    members
}

fn describe_disk(disk: &Path) -> String {
    let backing = read_trimmed(&disk.join("loop/backing_file"));
    if !backing.is_empty() {
        return format!("loop device backed by {backing}");
    }
    let vendor = read_trimmed(&disk.join("device/vendor"));
    let model = read_trimmed(&disk.join("device/model"));
    let label = [vendor, model]
        .iter()
        .filter(|part| !part.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    if label.is_empty() {
        "unknown model".to_string()
    } else {
        label
    }
}

fn read_trimmed(path: &Path) -> String {
    fs::read_to_string(path)
        .map(|text| text.trim().to_string())
        .unwrap_or_default()
}

#[derive(Debug, PartialEq, Eq)]
pub struct Mount {
    /// "major:minor" of the mounted device.
    pub dev: String,
    pub mount_point: String,
    pub source: String,
}

/// Parses /proc/self/mountinfo (proc(5)): field 3 is major:minor, field 5 the mount point,
/// the source follows the filesystem type after the " - " separator.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let mut after = after.split(' ');
            let _filesystem = after.next()?;
            let source = after.next()?;
            Some(Mount {
                dev: fields.get(2)?.to_string(),
                mount_point: unescape_octal(fields.get(4)?),
                source: unescape_octal(source),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && index + 3 < bytes.len()
            && bytes[index + 1..index + 4]
                .iter()
                .all(|byte| (b'0'..=b'7').contains(byte))
        {
            let value = (bytes[index + 1] - b'0') * 64
                + (bytes[index + 2] - b'0') * 8
                + (bytes[index + 3] - b'0');
            out.push(value);
            index += 4;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_are_parsed_with_escapes() {
        let text = "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                    22 1 0:21 / /proc rw,nosuid - proc proc rw\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(
            mounts[0],
            Mount {
                dev: "98:0".into(),
                mount_point: "/mnt two".into(),
                source: "/dev/root".into()
            }
        );
        assert_eq!(mounts[1].mount_point, "/proc");
    }

    #[test]
    fn confirmation_is_required_for_non_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        fs::write(&path, b"old contents").unwrap();
        let target = Target::inspect(&path).unwrap();
        let mut sink = Vec::new();
        let error = target
            .confirm(false, false, &mut &b""[..], &mut sink)
            .unwrap_err();
        assert!(matches!(error, TargetError::NoConfirmation(_)), "{error}");
        let error = target
            .confirm(false, true, &mut &b"no\n"[..], &mut sink)
            .unwrap_err();
        assert!(matches!(error, TargetError::Declined(_)), "{error}");
        target
            .confirm(false, true, &mut &b"yes\n"[..], &mut sink)
            .unwrap();
        assert!(
            String::from_utf8(sink)
                .unwrap()
                .contains("disk.img (file, 12 bytes)")
        );
    }
}
