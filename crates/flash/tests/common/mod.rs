//! Real test images (GPT by sgdisk, FAT by mkfs.vfat, ext4 by mkfs.ext4, sparse files) and
//! guards that detach loop devices and unmount even when a test fails.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const MIB: u64 = 1 << 20;
/// Layout of the test image: seed FAT partition at 1 MiB (8 MiB), ext4 root from 9 MiB.
pub const SEED_OFFSET: u64 = MIB;
pub const SEED_SIZE: u64 = 8 * MIB;
pub const ROOT_OFFSET: u64 = 9 * MIB;

/// The seed file `host.agekey` in the FAT filesystem at `offset` of `disk`, read with mtools.
pub fn mtype(disk: &Path, offset: u64) -> Vec<u8> {
    let output = Command::new("mtype")
        .arg("-i")
        .arg(format!("{}@@{offset}", disk.display()))
        .arg(format!("::{}", sweetlies_flash::seed::IDENTITY_FILE))
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mtype failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

pub fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A GPT disk image of `size` bytes with a `SWEETSEED` FAT partition and an ext4 partition
/// holding `payload` bytes of pseudo-random data; everything else is holes.
pub fn build_image(dir: &Path, name: &str, size: u64, payload: usize) -> PathBuf {
    let image = dir.join(name);
    let file = fs::File::create(&image).unwrap();
    file.set_len(size).unwrap();
    drop(file);
    run(Command::new("sgdisk")
        .args(["-n", "1:2048:+8M", "-c", "1:SWEETSEED", "-t", "1:0700"])
        .args(["-n", "2:18432:0", "-c", "2:root", "-t", "2:8304"])
        .arg(&image));

    let seed = dir.join(format!("{name}.seed"));
    fs::File::create(&seed).unwrap().set_len(SEED_SIZE).unwrap();
    run(Command::new("mkfs.vfat")
        .args(["-n", "SWEETSEED", "-i", "12345678"])
        .arg(&seed));

    let content = dir.join(format!("{name}.content"));
    fs::create_dir_all(&content).unwrap();
    fs::write(content.join("payload.bin"), pseudo_random(payload, 7)).unwrap();
    fs::write(content.join("hello.txt"), "hello from the root partition\n").unwrap();
    let root = dir.join(format!("{name}.root"));
    fs::File::create(&root)
        .unwrap()
        .set_len(size - ROOT_OFFSET - MIB)
        .unwrap();
    run(Command::new("mkfs.ext4")
        .args([
            "-q",
            "-F",
            "-E",
            "root_owner=0:0",
            "-U",
            "11111111-2222-3333-4444-555555555555",
            "-d",
        ])
        .arg(&content)
        .arg(&root));

    for (part, offset) in [(&seed, SEED_OFFSET), (&root, ROOT_OFFSET)] {
        run(Command::new("dd")
            .arg(format!("if={}", part.display()))
            .arg(format!("of={}", image.display()))
            .args(["bs=1M", "conv=notrunc,sparse", "status=none"])
            .arg(format!("seek={}", offset / MIB)));
        fs::remove_file(part).unwrap();
    }
    fs::remove_dir_all(&content).unwrap();
    image
}

/// Deterministic bytes that do not compress or repeat (xorshift).
pub fn pseudo_random(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut bytes = Vec::with_capacity(length + 8);
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(length);
    bytes
}

pub fn read_range(path: &Path, start: u64, end: u64) -> Vec<u8> {
    let file = fs::File::open(path).unwrap();
    let mut bytes = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut bytes, start).unwrap();
    bytes
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { geteuid() == 0 }
}

/// A scratch directory removed on drop (usable where the `tempfile` crate is not).
pub struct ScratchDir {
    pub path: PathBuf,
}

impl ScratchDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("sweetlies-{name}-{}-{unique}", std::process::id()));
        fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Writes to the real stderr: the test harness hides `eprintln!` of passing tests.
pub fn skip_loudly(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED {reason} !!!!!\n");
}

/// Loop-device tests need root; without it they are skipped loudly, never silently passed.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    skip_loudly(&format!("{test}: loop devices need root (CI runs as root)"));
    false
}

pub struct LoopDevice {
    pub path: PathBuf,
}

impl LoopDevice {
    pub fn attach(backing: &Path, partitions: bool) -> Self {
        let mut command = Command::new("losetup");
        command.args(["--find", "--show"]);
        if partitions {
            command.arg("--partscan");
        }
        let path = PathBuf::from(run(command.arg(backing)).trim());
        Self { path }
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.path).status();
    }
}

pub struct Mounted {
    pub mount_point: PathBuf,
}

impl Mounted {
    pub fn mount(device: &Path, mount_point: &Path) -> Self {
        fs::create_dir_all(mount_point).unwrap();
        run(Command::new("mount").arg(device).arg(mount_point));
        Self {
            mount_point: mount_point.to_path_buf(),
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount_point).status();
    }
}
