//! `sweetlies-appliance build <org> [--host H] [--format raw|qcow2]`: builds each host's disk
//! image with `nix build` (progress from its internal-json log, via `sweetlies-nixlog`), links
//! it into the output directory and writes its sha256 and block map next to the link.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sweetlies_flash::artifacts::{with_suffix, write_image_artifacts};
use sweetlies_flash::bmap::human_size;
use sweetlies_nixlog::{BuildProgress, NixBuild};

use crate::names::validate_dns_label;
use crate::spec::OrgSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    Raw,
    Qcow2,
}

impl ImageFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Qcow2 => "qcow2",
        }
    }

    /// The attribute of a host's NixOS configuration that builds this format (modules/image.nix).
    fn attribute(self) -> &'static str {
        match self {
            Self::Raw => "config.system.build.images.sweetlies",
            Self::Qcow2 => "config.system.build.sweetliesImageQcow2",
        }
    }
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The org whose hosts to build (hosts/<org>/org.json).
    pub org: String,
    /// Build only this host [default: every host of the org].
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long, value_enum, default_value_t = ImageFormat::Raw)]
    pub format: ImageFormat,
    /// The Sweet Lies checkout (the flake) containing hosts/<org>/.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Where to put <host>.<format> (a link into the Nix store), its .sha256 and .bmap.
    #[arg(long, default_value = "images")]
    pub out_dir: PathBuf,
    /// The nix executable.
    #[arg(long, env = "SWEETLIES_NIX", default_value = "nix")]
    pub nix: PathBuf,
}

pub fn run(args: BuildArgs) -> Result<()> {
    let hosts = select_hosts(&args.repo, &args.org, args.host.as_deref())?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let out_dir = std::fs::canonicalize(&args.out_dir)?;
    for host in hosts {
        let mut build = NixBuild::new(format!(
            "{}#nixosConfigurations.{host}.{}",
            args.repo.display(),
            args.format.attribute()
        ));
        build.nix = args.nix.clone();
        build.out_link = Some(out_dir.join(format!("{host}.{}.result", args.format.extension())));
        let progress = BuildProgress::new(&host);
        let outputs = build.run(&mut |state| progress.update(state));
        progress.finish();
        let outputs = outputs.with_context(|| format!("building the image of {host} failed"))?;
        let image = find_image(&outputs[0], args.format)?;
        let link = out_dir.join(format!("{host}.{}", args.format.extension()));
        replace_symlink(&image, &link)?;
        let artifacts = write_image_artifacts(&link, args.format == ImageFormat::Raw)?;
        println!("{}", link.display());
        eprintln!(
            "  sha256 {}  ({})",
            hex::encode(artifacts.sha256),
            artifacts.sha256_file.display()
        );
        if let Some((path, map)) = &artifacts.bmap {
            eprintln!(
                "  block map {} ({} of {} mapped)",
                path.display(),
                human_size(map.mapped_bytes()),
                human_size(map.image_size)
            );
        }
    }
    Ok(())
}

/// Host names from hosts/<org>/org.json (docs/org-spec.md), optionally just one.
fn select_hosts(repo: &Path, org: &str, only: Option<&str>) -> Result<Vec<String>> {
    validate_dns_label("org name", org)?;
    let spec_path = repo.join("hosts").join(org).join("org.json");
    let text = std::fs::read_to_string(&spec_path).with_context(|| {
        format!(
            "cannot read {}; create the org with `sweetlies-appliance new {org}`",
            spec_path.display()
        )
    })?;
    // Refuses other schema versions and specs without hosts, as `check` does.
    let spec = OrgSpec::from_json(&text)
        .with_context(|| format!("{} is not a valid org spec", spec_path.display()))?;
    let hosts: Vec<String> = spec.hosts.into_iter().map(|host| host.name).collect();
    match only {
        None => Ok(hosts),
        Some(host) if hosts.iter().any(|name| name == host) => Ok(vec![host.to_string()]),
        Some(host) => bail!(
            "org {org} has no host {host}; its hosts are {}",
            hosts.join(", ")
        ),
    }
}

/// The image file inside a build output: the output itself, or its one .raw/.qcow2 file.
fn find_image(output: &Path, format: ImageFormat) -> Result<PathBuf> {
    if output.is_file() {
        return Ok(output.to_path_buf());
    }
    let wanted = format.extension();
    let mut images: Vec<PathBuf> = std::fs::read_dir(output)
        .with_context(|| format!("cannot list {}", output.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == wanted)
        })
        .collect();
    match images.len() {
        1 => Ok(images.remove(0)),
        0 => bail!(
            "the build output {} holds no .{wanted} image",
            output.display()
        ),
        _ => bail!(
            "the build output {} holds several .{wanted} images: {images:?}",
            output.display()
        ),
    }
}

fn replace_symlink(target: &Path, link: &Path) -> Result<()> {
    let temporary = with_suffix(link, &format!(".tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    std::os::unix::fs::symlink(target, &temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    std::fs::rename(&temporary, link).with_context(|| format!("cannot replace {}", link.display()))
}
