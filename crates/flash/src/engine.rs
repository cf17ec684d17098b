//! The flashing engine: copies the mapped ranges of an image to the target through a
//! reader thread and aligned buffers, syncs periodically, then reads every range back with
//! O_DIRECT and compares sha256 sums, then optionally writes the host seed.

use std::fmt;
use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::bmap::{self, BlockMap};
use crate::io::{self as flash_io, ALIGNMENT, AlignedBuffer};
use crate::progress::ProgressSink;
use crate::seed::{self, SeedError, SeedReport};
use crate::target::{Target, TargetError, TargetKind};

const CHUNK: usize = 8 << 20;
const PIPELINE_DEPTH: usize = 4;
/// Concurrent read-back workers: enough to keep a device's queue busy and both cores hashing.
const VERIFY_WORKERS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Bmap(#[from] bmap::BmapError),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("{what}: {cause}")]
    Io { what: String, cause: std::io::Error },
    #[error("interrupted")]
    Interrupted,
    #[error(
        "read-back of bytes {start}..{end} (blocks {first_block}-{last_block}) does not match: {detail}"
    )]
    Mismatch {
        start: u64,
        end: u64,
        first_block: u64,
        last_block: u64,
        detail: String,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FlashError {
    let what = what.into();
    move |source| FlashError::Io {
        what,
        cause: source,
    }
}

/// What the target holds when flashing stops; every failure names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Untouched,
    PartiallyWritten,
    WrittenNotVerified,
    Corrupt,
    VerifiedWithoutSeed,
}

impl fmt::Display for TargetState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Untouched => "untouched",
            Self::PartiallyWritten => "partially written and will not boot; flash it again",
            Self::WrittenNotVerified => "fully written but not verified; flash it again to verify",
            Self::Corrupt => "written, but what was read back differs from the image: do not use it; flash again, and replace the device if it fails again",
            Self::VerifiedWithoutSeed => "written and verified, but its seed partition holds no host identity; flash again with --org/--host",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{error}\nThe target {target} is {state}.")]
pub struct Failure {
    pub target: String,
    pub state: TargetState,
    pub error: FlashError,
}

#[derive(Debug, Clone)]
pub struct FlashOptions {
    /// Read every mapped range back with O_DIRECT and compare sha256 sums.
    pub verify: bool,
    /// Bytes written between two fdatasync calls, bounding what Ctrl-C has to wait for.
    pub sync_interval: u64,
    /// Set by a SIGINT handler; checked between chunks.
    pub interrupted: Arc<AtomicBool>,
    /// The host identity to put into the seed partition after a successful flash (a secret:
    /// wiped from memory when the options are dropped).
    pub seed_identity: Option<Zeroizing<Vec<u8>>>,
}

impl Default for FlashOptions {
    fn default() -> Self {
        Self {
            verify: true,
            sync_interval: 256 << 20,
            interrupted: Arc::new(AtomicBool::new(false)),
            seed_identity: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FlashReport {
    pub written_bytes: u64,
    pub write_time: Duration,
    /// None when verification was skipped.
    pub verify_time: Option<Duration>,
    /// False when the target's filesystem has no O_DIRECT (tmpfs) and the page cache was
    /// dropped before reading back instead.
    pub verified_with_direct_io: bool,
    pub seed: Option<SeedReport>,
    /// Why the kernel could not re-read the partition table, when it could not.
    pub partition_rescan_error: Option<String>,
}

/// Flashes `image` (mapped by `map`) onto `target`, which the caller has inspected, checked
/// and confirmed. On failure the error says what state the target is in.
pub fn flash(
    image: &Path,
    map: &BlockMap,
    target: &Target,
    options: &FlashOptions,
    progress: &dyn ProgressSink,
) -> Result<FlashReport, Failure> {
    let fail = |state| {
        let target = target.path.display().to_string();
        move |error: FlashError| Failure {
            target,
            state,
            error,
        }
    };
    let source = File::open(image)
        .map_err(io_error(format!("cannot open image {}", image.display())))
        .map_err(fail(TargetState::Untouched))?;
    let output = open_target(target, map.image_size).map_err(fail(TargetState::Untouched))?;

    let started = Instant::now();
    let computed = write_ranges(&source, &output, map, options, progress)
        .map_err(fail(TargetState::PartiallyWritten))?;
    let write_time = started.elapsed();

    let mut report = FlashReport {
        written_bytes: map.mapped_bytes(),
        write_time,
        verify_time: None,
        verified_with_direct_io: false,
        seed: None,
        partition_rescan_error: None,
    };
    if options.verify {
        let started = Instant::now();
        let expected = if map.has_checksums() {
            map.clone()
        } else {
            with_sums(map, &computed)
        };
        report.verified_with_direct_io = verify_target(
            &target.path,
            image,
            &expected,
            &options.interrupted,
            progress,
        )
        .map_err(|error| {
            let state = if matches!(error, FlashError::Mismatch { .. }) {
                TargetState::Corrupt
            } else {
                TargetState::WrittenNotVerified
            };
            fail(state)(error)
        })?;
        report.verify_time = Some(started.elapsed());
    }
    if let Some(identity) = &options.seed_identity {
        let state = if options.verify {
            TargetState::VerifiedWithoutSeed
        } else {
            TargetState::WrittenNotVerified
        };
        flash_io::set_direct(&output, false)
            .map_err(io_error("cannot switch the target back to buffered I/O"))
            .map_err(fail(state))?;
        report.seed = Some(
            seed::write_identity(&output, identity)
                .map_err(FlashError::from)
                .map_err(fail(state))?,
        );
    }
    if matches!(target.kind, TargetKind::BlockDevice(_)) {
        report.partition_rescan_error = flash_io::reread_partition_table(&output)
            .err()
            .map(|error| error.to_string());
    }
    Ok(report)
}

/// Block devices are opened O_EXCL (the kernel refuses if anything mounted or claimed them);
/// files are sized to the image.
fn open_target(target: &Target, image_size: u64) -> Result<File, FlashError> {
    let shown = target.path.display().to_string();
    let mut options = File::options();
    options.read(true).write(true);
    if matches!(target.kind, TargetKind::BlockDevice(_)) {
        options.custom_flags(libc::O_EXCL);
    }
    let file = options.open(&target.path).map_err(|error| match error.raw_os_error() {
        Some(libc::EBUSY) => FlashError::Io { what: format!("{shown} is in use (mounted, or claimed by another program or device-mapper); refusing to write"), cause: error },
        _ => FlashError::Io { what: format!("cannot open target {shown} for writing"), cause: error },
    })?;
    if matches!(target.kind, TargetKind::File) {
        file.set_len(image_size)
            .map_err(io_error(format!("cannot size {shown} to the image")))?;
    }
    Ok(file)
}

struct Chunk {
    offset: u64,
    length: usize,
    buffer: AlignedBuffer,
}

/// Writes every mapped range; returns the sha256 of each range as read from the image when
/// the map carries none (so that read-back has something to compare with).
fn write_ranges(
    source: &File,
    output: &File,
    map: &BlockMap,
    options: &FlashOptions,
    progress: &dyn ProgressSink,
) -> Result<Vec<[u8; 32]>, FlashError> {
    flash_io::advise_sequential(source);
    // Direct writes skip the page cache, so no dirty backlog builds up; filesystems without
    // O_DIRECT (tmpfs) get buffered writes.
    let direct = flash_io::set_direct(output, true).is_ok();
    let hash_while_reading = !map.has_checksums();
    progress.begin("writing", map.mapped_bytes());
    let result = thread::scope(|scope| {
        let (filled_tx, filled_rx) = mpsc::sync_channel::<Chunk>(PIPELINE_DEPTH);
        let (free_tx, free_rx) = mpsc::channel::<AlignedBuffer>();
        for _ in 0..PIPELINE_DEPTH + 2 {
            free_tx
                .send(AlignedBuffer::new(CHUNK))
                .expect("receiver alive");
        }
        let reader = scope.spawn(move || -> Result<Vec<[u8; 32]>, FlashError> {
            let mut sums = Vec::new();
            for range in &map.ranges {
                let bytes = map.byte_range(range);
                let mut hasher = Sha256::new();
                let mut offset = bytes.start;
                while offset < bytes.end {
                    if options.interrupted.load(Ordering::Relaxed) {
                        return Err(FlashError::Interrupted);
                    }
                    let Ok(mut buffer) = free_rx.recv() else {
                        return Ok(sums);
                    };
                    let length = (bytes.end - offset).min(CHUNK as u64) as usize;
                    source
                        .read_exact_at(&mut buffer.as_mut_slice()[..length], offset)
                        .map_err(io_error(format!("cannot read the image at byte {offset}")))?;
                    if hash_while_reading {
                        hasher.update(&buffer.as_slice()[..length]);
                    }
                    if filled_tx
                        .send(Chunk {
                            offset,
                            length,
                            buffer,
                        })
                        .is_err()
                    {
                        return Ok(sums);
                    }
                    offset += length as u64;
                }
                sums.push(hasher.finalize().into());
            }
            Ok(sums)
        });
        let mut since_sync = 0u64;
        let written = (|| -> Result<(), FlashError> {
            for chunk in filled_rx {
                if options.interrupted.load(Ordering::Relaxed) {
                    return Err(FlashError::Interrupted);
                }
                write_chunk(output, &chunk, direct)?;
                since_sync += chunk.length as u64;
                progress.advance(chunk.length as u64);
                if since_sync >= options.sync_interval {
                    output
                        .sync_data()
                        .map_err(io_error("cannot sync the target"))?;
                    since_sync = 0;
                }
                let _ = free_tx.send(chunk.buffer);
            }
            Ok(())
        })();
        // Stop the reader if writing failed: dropping our ends makes its send/recv fail.
        drop(free_tx);
        let sums = reader.join().expect("reader thread does not panic");
        written?;
        sums
    });
    progress.end();
    let sums = result?;
    output
        .sync_all()
        .map_err(io_error("cannot sync the target"))?;
    Ok(sums)
}

/// Direct writes need lengths in whole sectors: only the image's very last chunk can end
/// mid-sector, and its tail goes through the page cache.
fn write_chunk(output: &File, chunk: &Chunk, direct: bool) -> Result<(), FlashError> {
    let data = &chunk.buffer.as_slice()[..chunk.length];
    let aligned = if direct {
        chunk.length / ALIGNMENT * ALIGNMENT
    } else {
        0
    };
    let what = || format!("cannot write the target at byte {}", chunk.offset);
    if aligned > 0 {
        output
            .write_all_at(&data[..aligned], chunk.offset)
            .map_err(io_error(what()))?;
    }
    if aligned < chunk.length {
        if direct {
            flash_io::set_direct(output, false).map_err(io_error(what()))?;
        }
        output
            .write_all_at(&data[aligned..], chunk.offset + aligned as u64)
            .map_err(io_error(what()))?;
        if direct {
            flash_io::set_direct(output, true).map_err(io_error(what()))?;
        }
    }
    Ok(())
}

fn with_sums(map: &BlockMap, sums: &[[u8; 32]]) -> BlockMap {
    let mut map = map.clone();
    for (range, sum) in map.ranges.iter_mut().zip(sums) {
        range.sha256 = Some(*sum);
    }
    map
}

/// Reads every mapped range of `target` back, bypassing the page cache (O_DIRECT, or a
/// dropped cache where the filesystem has no O_DIRECT), and compares it with the map's sha256
/// sums. On a mismatch, finds the first differing byte against `image`. Returns whether
/// O_DIRECT was used.
pub fn verify_target(
    target: &Path,
    image: &Path,
    map: &BlockMap,
    interrupted: &AtomicBool,
    progress: &dyn ProgressSink,
) -> Result<bool, FlashError> {
    let shown = target.display().to_string();
    let (input, direct) = match File::options()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(target)
    {
        Ok(file) => (file, true),
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
            let file = File::open(target)
                .map_err(io_error(format!("cannot open {shown} for read-back")))?;
            flash_io::drop_cache(&file);
            (file, false)
        }
        Err(error) => {
            return Err(io_error(format!("cannot open {shown} for read-back"))(
                error,
            ));
        }
    };
    progress.begin("verifying", map.mapped_bytes());
    // Ranges are independent: a few workers each read a whole range and hash it, which keeps
    // several reads in flight and spreads hashing over the cores.
    let next_range = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let outcome = thread::scope(|scope| {
        let workers: Vec<_> = (0..VERIFY_WORKERS)
            .map(|_| {
                scope.spawn(|| -> Result<(), FlashError> {
                    let mut buffer = AlignedBuffer::new(CHUNK);
                    loop {
                        let index = next_range.fetch_add(1, Ordering::Relaxed);
                        let Some(range) = map.ranges.get(index) else {
                            return Ok(());
                        };
                        let bytes = map.byte_range(range);
                        let mut hasher = Sha256::new();
                        let mut offset = bytes.start;
                        while offset < bytes.end {
                            if interrupted.load(Ordering::Relaxed) {
                                return Err(FlashError::Interrupted);
                            }
                            if failed.load(Ordering::Relaxed) {
                                return Ok(());
                            }
                            let length = (bytes.end - offset).min(CHUNK as u64) as usize;
                            read_aligned(&input, &mut buffer, offset, length).map_err(io_error(
                                format!("cannot read {shown} back at byte {offset}"),
                            ))?;
                            hasher.update(&buffer.as_slice()[..length]);
                            progress.advance(length as u64);
                            offset += length as u64;
                        }
                        let sum: [u8; 32] = hasher.finalize().into();
                        if Some(sum) != range.sha256 {
                            failed.store(true, Ordering::Relaxed);
                            let detail = first_difference(image, &input, bytes.clone());
                            return Err(FlashError::Mismatch {
                                start: bytes.start,
                                end: bytes.end,
                                first_block: range.first,
                                last_block: range.last,
                                detail,
                            });
                        }
                    }
                })
            })
            .collect();
        let results: Vec<_> = workers
            .into_iter()
            .map(|worker| worker.join().expect("verify worker does not panic"))
            .collect();
        // Report a mismatch before an I/O error or an interruption of another worker.
        let mut errors: Vec<FlashError> = results.into_iter().filter_map(Result::err).collect();
        errors.sort_by_key(|error| !matches!(error, FlashError::Mismatch { .. }));
        match errors.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    });
    progress.end();
    outcome.map(|()| direct)
}

/// Reads `length` bytes at `offset` into `buffer`, rounding the request up to whole pages as
/// O_DIRECT requires; the device or file may end inside that rounding.
fn read_aligned(
    input: &File,
    buffer: &mut AlignedBuffer,
    offset: u64,
    length: usize,
) -> std::io::Result<()> {
    let rounded = length.div_ceil(ALIGNMENT) * ALIGNMENT;
    let slice = &mut buffer.as_mut_slice()[..rounded];
    let mut done = 0;
    while done < length {
        match input.read_at(&mut slice[done..], offset + done as u64) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the target ends before the image does",
                ));
            }
            Ok(read) => done += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Names the first byte where target and image differ, or says that they agree (then the
/// image itself does not match its block map).
fn first_difference(image: &Path, target: &File, bytes: std::ops::Range<u64>) -> String {
    let Ok(image) = File::open(image) else {
        return "the image could not be reopened to locate the difference".into();
    };
    let mut expected = vec![0u8; 1 << 20];
    let mut actual = AlignedBuffer::new(1 << 20);
    let mut offset = bytes.start;
    while offset < bytes.end {
        let length = (bytes.end - offset).min(expected.len() as u64) as usize;
        if image
            .read_exact_at(&mut expected[..length], offset)
            .is_err()
            || read_aligned(target, &mut actual, offset, length).is_err()
        {
            return format!("reading failed near byte {offset} while locating the difference");
        }
        if let Some(position) = expected[..length]
            .iter()
            .zip(&actual.as_slice()[..length])
            .position(|(a, b)| a != b)
        {
            let at = offset + position as u64;
            return format!(
                "first difference at byte {at}: image has {:#04x}, target has {:#04x}",
                expected[position],
                actual.as_slice()[position]
            );
        }
        offset += length as u64;
    }
    "the target equals the image file here, so the image does not match its block map's checksum: the image is corrupt or the map belongs to another image".into()
}
