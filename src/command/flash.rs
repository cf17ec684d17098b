//! `sweetlies-appliance flash <image> <target>`: writes the image's mapped blocks to a block
//! device or file, reads them back with O_DIRECT, and optionally puts the host identity into
//! the seed partition. The work is done by the `sweetlies-flash` crate.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use clap::Args;
use sweetlies_flash::artifacts::with_suffix;
use sweetlies_flash::bmap::{DEFAULT_BLOCK_SIZE, human_size};
use sweetlies_flash::{BlockMap, FlashOptions, Target, TerminalProgress, flash};
use zeroize::Zeroizing;

use crate::identity::{default_config_dir, host_identity_path, read_identity_file_text};

#[derive(Debug, Args)]
pub struct FlashArgs {
    /// The image: raw (its block map is IMAGE.bmap when present) or qcow2.
    pub image: PathBuf,
    /// A block device such as /dev/sdX, or an existing file (raw; `.qcow2` files get qcow2).
    pub target: PathBuf,
    /// Block map to use [default: IMAGE.bmap if it exists, else holes via SEEK_DATA/SEEK_HOLE].
    #[arg(long)]
    pub bmap: Option<PathBuf>,
    /// Org of the host whose identity goes into the seed partition (with --host).
    #[arg(long, requires = "host")]
    pub org: Option<String>,
    /// Host whose identity (<config-dir>/<org>/hosts/<host>.agekey) goes into the seed partition.
    #[arg(long, requires = "org")]
    pub host: Option<String>,
    /// Where private identities are [default: $XDG_CONFIG_HOME/sweetlies].
    #[arg(long, env = "SWEETLIES_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Overwrite without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Skip reading everything back (faster; a bad device goes unnoticed).
    #[arg(long)]
    pub no_verify: bool,
}

pub fn run(args: FlashArgs) -> Result<()> {
    // Everything that can fail without touching the target is checked first.
    let identity = match (&args.org, &args.host) {
        (Some(org), Some(host)) => {
            let dir = match &args.config_dir {
                Some(dir) => dir.clone(),
                None => default_config_dir().context(
                    "cannot find a config directory: set --config-dir, SWEETLIES_CONFIG_DIR or HOME",
                )?,
            };
            Some(load_host_identity(&host_identity_path(&dir, org, host))?)
        }
        _ => None,
    };
    let metadata = std::fs::metadata(&args.image)
        .with_context(|| format!("cannot read image {}", args.image.display()))?;
    if !metadata.is_file() {
        bail!("image {} is not a file", args.image.display());
    }
    let converted = RawCopy::of_qcow2(&args.image)?;
    let image = converted
        .as_ref()
        .map_or(args.image.as_path(), |copy| copy.path.as_path());
    let map = block_map(image, args.bmap.as_deref(), converted.is_none())?;

    let target = Target::inspect(&args.target)?;
    target.check_safe(image, map.image_size)?;
    target.confirm(
        args.yes,
        std::io::stdin().is_terminal(),
        &mut std::io::stdin().lock(),
        &mut std::io::stderr(),
    )?;

    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))
            .context("cannot install the Ctrl-C handler")?;
    }
    let options = FlashOptions {
        verify: !args.no_verify,
        interrupted,
        seed_identity: identity,
        ..FlashOptions::default()
    };
    eprintln!(
        "flashing {} ({} of {} mapped) to {}",
        args.image.display(),
        human_size(map.mapped_bytes()),
        human_size(map.image_size),
        target.describe()
    );
    // A qcow2 target is flashed as a sparse raw file beside it, then converted and compared.
    let staging = QcowTarget::stage(&target)?;
    let flash_target = match &staging {
        Some(staging) => Target::inspect(&staging.raw)?,
        None => target.clone(),
    };
    let report = flash(
        image,
        &map,
        &flash_target,
        &options,
        &TerminalProgress::default(),
    )?;
    if let Some(staging) = &staging {
        staging.convert(&args.target)?;
    }

    let rate = |bytes: u64, seconds: f64| human_size((bytes as f64 / seconds.max(1e-3)) as u64);
    eprintln!(
        "wrote {} in {:.1}s ({}/s)",
        human_size(report.written_bytes),
        report.write_time.as_secs_f64(),
        rate(report.written_bytes, report.write_time.as_secs_f64())
    );
    match report.verify_time {
        Some(time) => eprintln!(
            "verified every mapped range in {:.1}s{}",
            time.as_secs_f64(),
            if report.verified_with_direct_io {
                " (O_DIRECT)"
            } else {
                " (page cache dropped; the filesystem has no O_DIRECT)"
            }
        ),
        None => eprintln!("not verified (--no-verify)"),
    }
    if let (Some(seed), Some(host)) = (&report.seed, &args.host) {
        eprintln!(
            "wrote {host}'s identity to the seed partition ({}); it is imported and wiped at first boot",
            seed.partition
        );
    }
    println!("{}: done", args.target.display());
    Ok(())
}

/// The admin's copy of a host identity, refused as `check` and `secrets` refuse it (missing, not
/// a valid age identity, or accessible by other users); its bytes, comments included, go into
/// the seed unchanged. The contents are never logged.
fn load_host_identity(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let (_, mut text) = read_identity_file_text(path).context(
        "cannot seed the host identity (create it with `sweetlies-appliance new` or copy it from the admin's machine)",
    )?;
    Ok(Zeroizing::new(std::mem::take(&mut *text).into_bytes()))
}

/// The map from --bmap, IMAGE.bmap, or the image's holes.
fn block_map(image: &Path, explicit: Option<&Path>, look_next_to_image: bool) -> Result<BlockMap> {
    let next_to_image = with_suffix(image, ".bmap");
    let path = explicit
        .map(Path::to_path_buf)
        .or_else(|| (look_next_to_image && next_to_image.exists()).then_some(next_to_image));
    let image_size = std::fs::metadata(image)?.len();
    match path {
        Some(path) => {
            let map = BlockMap::read(&path)?;
            if map.image_size != image_size {
                bail!(
                    "block map {} describes a {}-byte image but {} has {} bytes: it belongs to another image",
                    path.display(),
                    map.image_size,
                    image.display(),
                    image_size
                );
            }
            Ok(map)
        }
        None => {
            let file = std::fs::File::open(image)?;
            BlockMap::from_data_ranges(&file, DEFAULT_BLOCK_SIZE)
                .with_context(|| format!("cannot find the data regions of {}", image.display()))
        }
    }
}

/// A sparse raw copy of a qcow2 image (qemu-img convert), removed on drop.
struct RawCopy {
    path: PathBuf,
}

impl RawCopy {
    fn of_qcow2(image: &Path) -> Result<Option<Self>> {
        let mut magic = [0u8; 4];
        let is_qcow2 = std::fs::File::open(image)
            .and_then(|file| std::os::unix::fs::FileExt::read_exact_at(&file, &mut magic, 0))
            .is_ok()
            && magic == *b"QFI\xfb";
        if !is_qcow2 {
            return Ok(None);
        }
        let path = std::env::temp_dir().join(format!("sweetlies-flash-{}.raw", std::process::id()));
        let copy = Self { path };
        qemu_img(
            Command::new("qemu-img")
                .args(["convert", "-f", "qcow2", "-O", "raw"])
                .arg(image)
                .arg(&copy.path),
        )
        .with_context(|| format!("cannot read the qcow2 image {}", image.display()))?;
        Ok(Some(copy))
    }
}

impl Drop for RawCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Flashing into `<name>.qcow2`: the raw file it is written through, removed on drop.
struct QcowTarget {
    raw: PathBuf,
}

impl QcowTarget {
    fn stage(target: &Target) -> Result<Option<Self>> {
        let is_qcow2 = matches!(target.kind, sweetlies_flash::TargetKind::File)
            && target
                .path
                .extension()
                .is_some_and(|extension| extension == "qcow2");
        if !is_qcow2 {
            return Ok(None);
        }
        let raw = with_suffix(&target.path, &format!(".raw.partial{}", std::process::id()));
        std::fs::File::create(&raw).with_context(|| format!("cannot create {}", raw.display()))?;
        Ok(Some(Self { raw }))
    }

    /// Converts the flashed raw file to qcow2, checks the result is identical, then replaces
    /// the target atomically.
    fn convert(&self, target: &Path) -> Result<()> {
        let converted = with_suffix(target, &format!(".partial{}", std::process::id()));
        let result = (|| {
            qemu_img(
                Command::new("qemu-img")
                    .args(["convert", "-f", "raw", "-O", "qcow2"])
                    .arg(&self.raw)
                    .arg(&converted),
            )?;
            qemu_img(
                Command::new("qemu-img")
                    .args(["compare", "-q", "-f", "raw", "-F", "qcow2"])
                    .arg(&self.raw)
                    .arg(&converted),
            )?;
            std::fs::rename(&converted, target)
                .with_context(|| format!("cannot replace {}", target.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&converted);
        }
        result.with_context(|| {
            format!(
                "the image was flashed and verified, but {} was left unchanged",
                target.display()
            )
        })
    }
}

impl Drop for QcowTarget {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.raw);
    }
}

fn qemu_img(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .context("cannot run qemu-img; install qemu-utils")?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
