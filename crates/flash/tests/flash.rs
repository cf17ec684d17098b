//! Flashing real GPT/FAT/ext4 images to files and loop devices.

mod common;

use std::fs;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use common::*;
use sweetlies_flash::seed::{self, IDENTITY_FILE};
use sweetlies_flash::{
    BlockMap, FlashError, FlashOptions, NoProgress, Target, TargetError, TargetState, flash,
    verify_target,
};
use zeroize::Zeroizing;

/// Flashing writes the identity file's bytes as they are; checking them is the CLI's job.
const IDENTITY: &[u8] = b"# INSECURE test identity\nnot a real key\n";

fn flash_to(
    image: &Path,
    map: &BlockMap,
    target: &Path,
    options: &FlashOptions,
) -> sweetlies_flash::FlashReport {
    let target = Target::inspect(target).unwrap();
    target.check_safe(image, map.image_size).unwrap();
    flash(image, map, &target, options, &NoProgress).unwrap()
}

/// A 64 MiB test image with `payload` bytes of data, its block map, and an empty target file.
fn image_and_empty_target(dir: &Path, payload: usize) -> (PathBuf, BlockMap, PathBuf) {
    let image = build_image(dir, "disk.img", 64 * MIB, payload);
    let map = BlockMap::from_image(&image).unwrap();
    let target = dir.join("target.img");
    fs::File::create(&target).unwrap();
    (image, map, target)
}

/// Flashes a file that the test expects to fail; the failure names the target's state.
fn flash_failure(
    image: &Path,
    map: &BlockMap,
    target: &Path,
    options: &FlashOptions,
) -> sweetlies_flash::Failure {
    flash(
        image,
        map,
        &Target::inspect(target).unwrap(),
        options,
        &NoProgress,
    )
    .unwrap_err()
}

/// Every mapped range of `target` equals the image's, except ranges lying within `except`.
fn assert_mapped_ranges_equal(
    image: &Path,
    target: &Path,
    map: &BlockMap,
    except: Option<Range<u64>>,
) {
    for range in &map.ranges {
        let bytes = map.byte_range(range);
        if except
            .as_ref()
            .is_some_and(|except| bytes.start >= except.start && bytes.end <= except.end)
        {
            continue;
        }
        assert!(
            read_range(image, bytes.start, bytes.end) == read_range(target, bytes.start, bytes.end),
            "range {}-{} differs",
            range.first,
            range.last
        );
    }
}

#[test]
fn flashes_a_sparse_image_into_a_file_and_keeps_holes() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 96 * MIB, 5 * MIB as usize);
    let map = BlockMap::from_image(&image).unwrap();
    assert!(
        map.mapped_bytes() < 40 * MIB,
        "test image should be mostly holes, maps {}",
        map.mapped_bytes()
    );
    let target = dir.path().join("target.img");
    fs::File::create(&target).unwrap();

    let report = flash_to(&image, &map, &target, &FlashOptions::default());
    assert_eq!(report.written_bytes, map.mapped_bytes());
    assert!(report.verify_time.is_some());

    // Holes were not written: the target is as sparse as the image and identical to it.
    assert_eq!(fs::metadata(&target).unwrap().len(), 96 * MIB);
    assert!(run(Command::new("cmp").arg(&image).arg(&target)).is_empty());
    let target_map = BlockMap::from_data_ranges(&fs::File::open(&target).unwrap(), 4096).unwrap();
    assert!(
        target_map.mapped_bytes() <= map.mapped_bytes() + 4096,
        "target allocated {} for {} mapped",
        target_map.mapped_bytes(),
        map.mapped_bytes()
    );

    // The ext4 root partition survives intact.
    let root = dir.path().join("root.ext4");
    run(Command::new("dd")
        .arg(format!("if={}", target.display()))
        .arg(format!("of={}", root.display()))
        .args(["bs=1M", "skip=9", "count=86", "status=none", "conv=sparse"]));
    run(Command::new("e2fsck").args(["-f", "-n"]).arg(&root));
}

#[test]
fn unmapped_regions_of_the_target_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, MIB as usize);
    let map = BlockMap::from_image(&image).unwrap();
    let target = dir.path().join("target.img");
    fs::write(&target, vec![0xA5u8; 64 * MIB as usize]).unwrap();
    let hole = (0..map.blocks_count())
        .find(|block| {
            !map.ranges
                .iter()
                .any(|range| (range.first..=range.last).contains(block))
        })
        .unwrap();

    let options = FlashOptions {
        verify: true,
        ..FlashOptions::default()
    };
    let target_info = Target::inspect(&target).unwrap();
    target_info
        .confirm(true, false, &mut &b""[..], &mut Vec::new())
        .unwrap();
    flash(&image, &map, &target_info, &options, &NoProgress).unwrap();

    assert_mapped_ranges_equal(&image, &target, &map, None);
    assert_eq!(
        read_range(&target, hole * 4096, hole * 4096 + 4096),
        vec![0xA5u8; 4096]
    );
}

#[test]
fn without_checksums_the_map_from_seek_data_is_verified_against_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, 3 * MIB as usize);
    let map = BlockMap::from_data_ranges(&fs::File::open(&image).unwrap(), 4096).unwrap();
    assert!(!map.has_checksums());
    let target = dir.path().join("target.img");
    fs::File::create(&target).unwrap();
    let report = flash_to(&image, &map, &target, &FlashOptions::default());
    assert!(report.verify_time.is_some());
    assert_mapped_ranges_equal(&image, &target, &map, None);
}

#[test]
fn read_back_catches_a_corrupted_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (image, map, target) = image_and_empty_target(dir.path(), 3 * MIB as usize);
    flash_to(
        &image,
        &map,
        &target,
        &FlashOptions {
            verify: false,
            ..FlashOptions::default()
        },
    );
    verify_target(&target, &image, &map, &AtomicBool::new(false), &NoProgress).unwrap();

    // Flip one byte inside the ext4 payload (a mapped range).
    let last = map.ranges.last().unwrap();
    let corrupt_at = map.byte_range(last).start + 100;
    let file = fs::File::options()
        .write(true)
        .read(true)
        .open(&target)
        .unwrap();
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, corrupt_at).unwrap();
    file.write_all_at(&[byte[0] ^ 0xff], corrupt_at).unwrap();
    file.sync_all().unwrap();

    let error =
        verify_target(&target, &image, &map, &AtomicBool::new(false), &NoProgress).unwrap_err();
    let FlashError::Mismatch { detail, .. } = &error else {
        panic!("expected a mismatch, got {error}")
    };
    assert!(
        detail.contains(&format!("first difference at byte {corrupt_at}")),
        "{detail}"
    );
}

#[test]
fn seed_identity_lands_in_the_fat_partition() {
    let dir = tempfile::tempdir().unwrap();
    let (image, map, target) = image_and_empty_target(dir.path(), MIB as usize);
    let options = FlashOptions {
        seed_identity: Some(Zeroizing::new(IDENTITY.to_vec())),
        ..FlashOptions::default()
    };
    let report = flash_to(&image, &map, &target, &options);
    let seed = report.seed.expect("seed written");
    assert_eq!(
        (seed.partition, seed.offset, seed.size),
        (1, SEED_OFFSET, SEED_SIZE)
    );

    assert_eq!(mtype(&target, SEED_OFFSET), IDENTITY);
    let seed_fs = dir.path().join("seed.vfat");
    run(Command::new("dd")
        .arg(format!("if={}", target.display()))
        .arg(format!("of={}", seed_fs.display()))
        .args(["bs=1M", "skip=1", "count=8", "status=none"]));
    run(Command::new("fsck.vfat").arg("-n").arg(&seed_fs));
    // The image itself never holds the identity.
    assert!(
        Command::new("mtype")
            .arg("-i")
            .arg(format!("{}@@{SEED_OFFSET}", image.display()))
            .arg(format!("::{IDENTITY_FILE}"))
            .output()
            .unwrap()
            .stdout
            .is_empty()
    );
}

#[test]
fn seed_partition_is_found_by_fat_label_when_the_gpt_name_differs() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, MIB as usize);
    run(Command::new("sgdisk")
        .args(["-c", "1:something-else"])
        .arg(&image));
    let disk = fs::File::options()
        .read(true)
        .write(true)
        .open(&image)
        .unwrap();
    assert_eq!(seed::write_identity(&disk, IDENTITY).unwrap().partition, 1);
    assert_eq!(mtype(&image, SEED_OFFSET), IDENTITY);
}

#[test]
fn an_image_without_seed_partition_fails_with_the_state_named() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("plain.img");
    fs::File::create(&image).unwrap().set_len(16 * MIB).unwrap();
    run(Command::new("sgdisk")
        .args(["-n", "1:2048:0", "-c", "1:root"])
        .arg(&image));
    let map = BlockMap::from_image(&image).unwrap();
    let target = dir.path().join("target.img");
    fs::File::create(&target).unwrap();
    let options = FlashOptions {
        seed_identity: Some(Zeroizing::new(IDENTITY.to_vec())),
        ..FlashOptions::default()
    };
    let failure = flash_failure(&image, &map, &target, &options);
    assert_eq!(failure.state, TargetState::VerifiedWithoutSeed);
    let message = failure.to_string();
    assert!(
        message.contains("no partition named or labelled SWEETSEED")
            && message.contains("flash again with --org/--host"),
        "{message}"
    );
}

#[test]
fn refuses_missing_paths_directories_and_the_image_itself() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Target::inspect(&dir.path().join("nope")).unwrap_err();
    assert!(
        matches!(missing, TargetError::Missing(_)) && missing.to_string().contains("touch"),
        "{missing}"
    );
    let directory = Target::inspect(dir.path()).unwrap_err();
    assert!(
        matches!(directory, TargetError::Directory(_)),
        "{directory}"
    );
    let image = build_image(dir.path(), "disk.img", 32 * MIB, 4096);
    let same = Target::inspect(&image)
        .unwrap()
        .check_safe(&image, 32 * MIB)
        .unwrap_err();
    assert!(matches!(same, TargetError::SameAsImage(_)), "{same}");
}

#[test]
fn bmaptool_reads_our_block_map_and_we_read_its() {
    if Command::new("bmaptool").arg("--version").output().is_err() {
        skip_loudly(
            "bmaptool compatibility: bmaptool is not installed (apt-get install bmap-tools)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, 2 * MIB as usize);
    let map = BlockMap::from_image(&image).unwrap();
    let ours = dir.path().join("ours.bmap");
    fs::write(&ours, map.to_xml()).unwrap();
    let copy = dir.path().join("copy.img");
    run(Command::new("bmaptool")
        .args(["copy", "--bmap"])
        .arg(&ours)
        .arg(&image)
        .arg(&copy));
    assert!(run(Command::new("cmp").arg(&image).arg(&copy)).is_empty());

    let theirs = dir.path().join("theirs.bmap");
    run(Command::new("bmaptool")
        .arg("create")
        .arg("-o")
        .arg(&theirs)
        .arg(&image));
    let parsed = BlockMap::read(&theirs).unwrap();
    assert_eq!(
        (parsed.image_size, parsed.mapped_bytes()),
        (map.image_size, map.mapped_bytes())
    );
    let flat = |map: &BlockMap| {
        map.ranges
            .iter()
            .flat_map(|range| range.first..=range.last)
            .collect::<Vec<_>>()
    };
    assert_eq!(flat(&parsed), flat(&map));
}

// ---- loop devices (root) ----

#[test]
fn flashes_a_loop_device_and_the_seed_is_readable_there() {
    if !require_root("flashes_a_loop_device_and_the_seed_is_readable_there") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, 4 * MIB as usize);
    let map = BlockMap::from_image(&image).unwrap();
    let backing = dir.path().join("device.img");
    fs::write(&backing, vec![0x5Au8; 80 * MIB as usize]).unwrap();
    let device = LoopDevice::attach(&backing, false);

    let target = Target::inspect(&device.path).unwrap();
    assert!(matches!(
        target.kind,
        sweetlies_flash::TargetKind::BlockDevice(_)
    ));
    assert!(
        target.describe().contains("loop device backed by"),
        "{}",
        target.describe()
    );
    target.check_safe(&image, map.image_size).unwrap();
    let options = FlashOptions {
        seed_identity: Some(Zeroizing::new(IDENTITY.to_vec())),
        ..FlashOptions::default()
    };
    let report = flash(&image, &map, &target, &options, &NoProgress).unwrap();
    assert!(
        report.verified_with_direct_io,
        "read-back on a block device must use O_DIRECT"
    );

    assert_eq!(mtype(&device.path, SEED_OFFSET), IDENTITY);
    // Everything but the seed partition matches the image; the seed now differs by the key.
    assert_mapped_ranges_equal(
        &image,
        &device.path,
        &map,
        Some(SEED_OFFSET..SEED_OFFSET + SEED_SIZE),
    );
    // Beyond the image the device is untouched.
    assert_eq!(
        read_range(&device.path, 70 * MIB, 70 * MIB + 4096),
        vec![0x5Au8; 4096]
    );
}

#[test]
fn refuses_a_loop_device_that_is_too_small() {
    if !require_root("refuses_a_loop_device_that_is_too_small") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, 4096);
    let backing = dir.path().join("small.img");
    fs::File::create(&backing)
        .unwrap()
        .set_len(32 * MIB)
        .unwrap();
    let device = LoopDevice::attach(&backing, false);
    let error = Target::inspect(&device.path)
        .unwrap()
        .check_safe(&image, 64 * MIB)
        .unwrap_err();
    assert!(matches!(error, TargetError::TooSmall { .. }), "{error}");
    assert!(error.to_string().contains("32.0 MiB"), "{error}");
}

#[test]
fn refuses_a_mounted_loop_device_and_one_with_a_mounted_partition() {
    if !require_root("refuses_a_mounted_loop_device_and_one_with_a_mounted_partition") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "disk.img", 64 * MIB, 4096);

    // A filesystem on the whole device.
    let whole = dir.path().join("whole.img");
    fs::File::create(&whole).unwrap().set_len(80 * MIB).unwrap();
    run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&whole));
    let device = LoopDevice::attach(&whole, false);
    let mounted = Mounted::mount(&device.path, &dir.path().join("mnt-whole"));
    let error = Target::inspect(&device.path)
        .unwrap()
        .check_safe(&image, 64 * MIB)
        .unwrap_err();
    assert!(matches!(error, TargetError::Mounted { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&mounted.mount_point.display().to_string()),
        "{error}"
    );
    // O_EXCL makes the kernel refuse too, even if the checks were skipped.
    let target = Target::inspect(&device.path).unwrap();
    let failure = flash(
        &image,
        &BlockMap::from_image(&image).unwrap(),
        &target,
        &FlashOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert_eq!(failure.state, TargetState::Untouched, "{failure}");
    assert!(failure.to_string().contains("in use"), "{failure}");

    // A mounted partition of a partitioned device.
    let parted = dir.path().join("parted.img");
    fs::copy(&image, &parted).unwrap();
    let device = LoopDevice::attach(&parted, true);
    let partition = Path::new(&format!("{}p2", device.path.display())).to_path_buf();
    // Some kernels/containers do not scan at attach time; ask explicitly.
    if !partition.exists() {
        run(Command::new("partx").arg("-a").arg(&device.path));
    }
    for _ in 0..50 {
        if partition.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _mounted = Mounted::mount(&partition, &dir.path().join("mnt-part"));
    let error = Target::inspect(&device.path)
        .unwrap()
        .check_safe(&image, 64 * MIB)
        .unwrap_err();
    assert!(
        matches!(&error, TargetError::Mounted { what, .. } if what.ends_with("p2")),
        "{error}"
    );
}

#[test]
fn a_loop_device_needs_confirmation_without_a_terminal() {
    if !require_root("a_loop_device_needs_confirmation_without_a_terminal") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let backing = dir.path().join("device.img");
    fs::File::create(&backing)
        .unwrap()
        .set_len(8 * MIB)
        .unwrap();
    let device = LoopDevice::attach(&backing, false);
    let target = Target::inspect(&device.path).unwrap();
    let error = target
        .confirm(false, false, &mut &b""[..], &mut Vec::new())
        .unwrap_err();
    assert!(matches!(error, TargetError::NoConfirmation(_)), "{error}");
    assert!(
        error.to_string().contains("8.0 MiB") && error.to_string().contains("--yes"),
        "{error}"
    );
}

#[test]
fn build_artifacts_are_a_checkable_sha256_and_a_bmap_next_to_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "store-image.raw", 64 * MIB, MIB as usize);
    let link = dir.path().join("acme-1.raw");
    std::os::unix::fs::symlink(&image, &link).unwrap();
    let artifacts = sweetlies_flash::artifacts::write_image_artifacts(&link, true).unwrap();
    let listing = run(Command::new("sha256sum")
        .arg("-c")
        .arg("acme-1.raw.sha256")
        .current_dir(dir.path()));
    assert!(listing.contains("acme-1.raw: OK"), "{listing}");
    let (bmap_path, map) = artifacts.bmap.unwrap();
    assert_eq!(bmap_path, dir.path().join("acme-1.raw.bmap"));
    assert_eq!(BlockMap::read(&bmap_path).unwrap(), map);
}

#[test]
fn an_interrupted_flash_stops_and_says_the_target_is_partially_written() {
    let dir = tempfile::tempdir().unwrap();
    let (image, map, target) = image_and_empty_target(dir.path(), MIB as usize);
    let options = FlashOptions::default();
    options
        .interrupted
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let failure = flash_failure(&image, &map, &target, &options);
    assert!(
        matches!(failure.error, FlashError::Interrupted),
        "{failure}"
    );
    assert_eq!(failure.state, TargetState::PartiallyWritten);
    assert!(
        failure
            .to_string()
            .contains("partially written and will not boot"),
        "{failure}"
    );
}
