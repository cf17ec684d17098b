//! `sweetlies-appliance new`: creates `hosts/<org>/` and the org's private identities.

use crate::fsutil;
use crate::identity::{self, admin_identity_path, host_identity_path};
use crate::keysource::KeySource;
use crate::material;
use crate::names::{validate_dns_label, validate_fqdn};
use crate::spec::{
    self, Features, Federation, HostSpec, OrgSpec, SCHEMA_VERSION, SERVICE_NAMES, Upstream,
};
use crate::tls::Validity;
use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use zeroize::Zeroizing;

const DEFAULT_NIX_TEMPLATE: &str = include_str!("../../templates/default.nix.j2");

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Org name: a DNS label (a-z, 0-9, '-'), also the prefix of host names.
    pub org: String,
    /// DNS domain the org's services live under (chat.<domain>, cdn.<domain>, …).
    #[arg(long)]
    pub domain: String,
    /// Number of hosts.
    #[arg(long, default_value_t = 1)]
    pub hosts: usize,
    /// Use this existing age X25519 recipient (age1…) as the admin key instead of generating one.
    #[arg(long, value_name = "AGE1…")]
    pub admin_recipient: Option<String>,
    /// Override a service hostname, e.g. --service chat=signal.acme.example (repeatable).
    #[arg(long = "service", value_name = "NAME=HOST")]
    pub services: Vec<String>,
    /// The Sweet Lies checkout to write hosts/<org>/ into.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Where private identities go [default: $XDG_CONFIG_HOME/sweetlies].
    #[arg(long, env = "SWEETLIES_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// INSECURE, for tests and demos: derive every key from this hex seed.
    #[arg(long, value_name = "HEX")]
    pub seed: Option<String>,
}

/// `new`'s validated inputs.
pub struct NewOrgConfig {
    pub org: String,
    pub domain: String,
    pub host_count: usize,
    pub admin_recipient: Option<age::x25519::Recipient>,
    pub services: BTreeMap<String, String>,
    pub repo: PathBuf,
    pub config_dir: PathBuf,
    pub seed: Option<Zeroizing<Vec<u8>>>,
}

impl NewArgs {
    pub fn validate(self) -> Result<NewOrgConfig> {
        validate_dns_label("org name", &self.org)?;
        validate_fqdn(&self.domain)?;
        ensure!(self.hosts >= 1, "--hosts must be at least 1");
        ensure!(
            self.hosts <= 99,
            "--hosts {} is more than this tool plans for (at most 99)",
            self.hosts
        );
        let host_len = self.org.len() + 1 + self.hosts.to_string().len();
        ensure!(
            host_len <= 63,
            "org name {:?} is too long to form host names like {}-1: use at most {} characters",
            self.org,
            self.org,
            63 - (host_len - self.org.len())
        );
        let admin_recipient = self
            .admin_recipient
            .map(|r| {
                r.trim().parse::<age::x25519::Recipient>().map_err(|e| {
                    anyhow::anyhow!("--admin-recipient {r:?} is not an age X25519 recipient ({e}); print yours with `age-keygen -y KEYFILE`")
                })
            })
            .transpose()?;
        let mut services: BTreeMap<String, String> = SERVICE_NAMES
            .iter()
            .map(|s| (s.to_string(), format!("{s}.{}", self.domain)))
            .collect();
        for pair in &self.services {
            let (name, host) = pair.split_once('=').with_context(|| {
                format!(
                    "--service {pair:?} must look like NAME=HOST, e.g. chat=signal.{}",
                    self.domain
                )
            })?;
            ensure!(
                services.contains_key(name),
                "--service {name:?} is not a service; known: {}",
                SERVICE_NAMES.join(", ")
            );
            validate_fqdn(host).with_context(|| format!("--service {name}"))?;
            services.insert(name.to_owned(), host.to_owned());
        }
        let config_dir = match self.config_dir {
            Some(dir) => dir,
            None => identity::default_config_dir().context(
                "cannot find a config directory: set --config-dir, SWEETLIES_CONFIG_DIR or HOME",
            )?,
        };
        let seed = self
            .seed
            .map(|hex_seed| {
                let bytes = hex::decode(hex_seed.trim())
                    .context("--seed must be hex, e.g. --seed 00112233…")?;
                ensure!(!bytes.is_empty(), "--seed must not be empty");
                Ok(Zeroizing::new(bytes))
            })
            .transpose()?;
        Ok(NewOrgConfig {
            org: self.org,
            domain: self.domain,
            host_count: self.hosts,
            admin_recipient,
            services,
            repo: self.repo,
            config_dir,
            seed,
        })
    }
}

/// What `new` wrote.
#[derive(Debug)]
pub struct NewOrgReport {
    pub spec: OrgSpec,
    pub org_dir: PathBuf,
    pub admin_identity: Option<PathBuf>,
    pub host_identities: Vec<PathBuf>,
}

pub fn run(args: NewArgs) -> Result<()> {
    let config = args.validate()?;
    if config.seed.is_some() {
        eprintln!("{}", SEED_WARNING);
    }
    let report = create_org(&config)?;
    print_summary(&config, &report);
    Ok(())
}

const SEED_WARNING: &str = "\
WARNING: --seed given: every key of this org is derived from the seed and is NOT SECRET.
WARNING: the org is marked \"demo\": true; use it only for tests and demos, never for real users.";

/// Builds the org in temp directories and renames them into place; on error nothing is left.
pub fn create_org(config: &NewOrgConfig) -> Result<NewOrgReport> {
    let repo = &config.repo;
    ensure!(
        repo.is_dir(),
        "repository directory {} does not exist; pass --repo with the path of your Sweet Lies checkout",
        repo.display()
    );
    let hosts_dir = repo.join("hosts");
    let org_dir = hosts_dir.join(&config.org);
    if org_dir.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; `new` never modifies an existing org. To rotate its keys, move hosts/{org} and {} aside, run `new {org}` again and redeploy every host; to keep it, use `sweetlies-appliance check {org}`",
            org_dir.display(),
            config.config_dir.join(&config.org).display(),
            org = config.org
        );
    }
    let identities_dir = config.config_dir.join(&config.org);
    if identities_dir.symlink_metadata().is_ok() {
        bail!(
            "identities for org {:?} already exist in {} (from an earlier org of that name?); move that directory aside or pass --config-dir",
            config.org,
            identities_dir.display()
        );
    }

    let keys = match &config.seed {
        Some(seed) => KeySource::from_seed(seed, &config.org),
        None => KeySource::random(),
    };
    let demo = config.seed.is_some();
    let host_names: Vec<String> = (1..=config.host_count)
        .map(|n| format!("{}-{n}", config.org))
        .collect();
    let host_identities: Vec<age::x25519::Identity> = host_names
        .iter()
        .map(|h| identity::derive_identity(&keys, &format!("identity/host/{h}")))
        .collect();
    let admin_identity = match config.admin_recipient {
        Some(_) => None,
        None => Some(identity::derive_identity(&keys, "identity/admin")),
    };
    let admin_recipient = match (&config.admin_recipient, &admin_identity) {
        (Some(r), _) => r.clone(),
        (None, Some(id)) => id.to_public(),
        (None, None) => unreachable!("an admin identity is generated when no recipient is given"),
    };

    let spec = OrgSpec {
        schema_version: SCHEMA_VERSION,
        org: config.org.clone(),
        domain: config.domain.clone(),
        demo,
        services: config.services.clone(),
        hosts: host_names
            .iter()
            .zip(&host_identities)
            .enumerate()
            .map(|(i, (name, id))| HostSpec {
                name: name.clone(),
                roles: spec::roles_for_host(i, config.host_count),
                age_recipient: id.to_public().to_string(),
            })
            .collect(),
        features: Features::default(),
        federation: Federation::default(),
        upstream: Upstream::pinned(),
    };
    let problems = spec.problems();
    ensure!(
        problems.is_empty(),
        "internal error, generated org.json is invalid: {}",
        problems.join("; ")
    );

    let validity = if demo {
        // Fixed so that the demo org regenerates identically.
        Validity {
            not_before: date(2025, 1, 1),
            not_after: date(2045, 1, 1),
        }
    } else {
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("0 is a valid nanosecond");
        Validity {
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::days(3653),
        }
    };
    let material = material::generate(&keys, &spec, validity)?;

    // Stage the repository side.
    let created_hosts_dir = !hosts_dir.exists();
    let cleanup_hosts_dir = scopeguard(created_hosts_dir, &hosts_dir);
    std::fs::create_dir_all(&hosts_dir)
        .with_context(|| format!("cannot create {}", hosts_dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".new-{}-", config.org))
        .tempdir_in(&hosts_dir)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                hosts_dir.display()
            )
        })?;
    std::fs::set_permissions(
        staging.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    let write = |relative: &str, contents: &[u8]| -> Result<()> {
        let path = staging.path().join(relative);
        fsutil::write_new(&path, contents, 0o644)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        "org.json",
        format!("{}\n", serde_json::to_string_pretty(&spec)?).as_bytes(),
    )?;
    write(
        "public.json",
        format!("{}\n", serde_json::to_string_pretty(&material.public)?).as_bytes(),
    )?;
    write("default.nix", render_default_nix(&spec)?.as_bytes())?;
    std::fs::create_dir(staging.path().join("secrets"))?;
    for (host, id) in host_names.iter().zip(&host_identities) {
        let ciphertext = material
            .secrets
            .encrypt(&[id.to_public(), admin_recipient.clone()])?;
        write(&format!("secrets/{host}.age"), &ciphertext)?;
    }
    // The org's signing keys go to the admin alone: a compromised host must not be able to
    // issue sealed-sender or TLS certificates.
    let admin_ciphertext = material.admin.encrypt(std::slice::from_ref(&admin_recipient))?;
    write("secrets/admin.age", &admin_ciphertext)?;
    fsutil::sync_dir(&staging.path().join("secrets"))?;
    fsutil::sync_dir(staging.path())?;

    // Stage the private identities.
    let config_dir_existed = config.config_dir.exists();
    let cleanup_config_dir = scopeguard(!config_dir_existed, &config.config_dir);
    fsutil::create_dir_all_mode(&config.config_dir, 0o700).with_context(|| {
        format!(
            "cannot create the config directory {}",
            config.config_dir.display()
        )
    })?;
    let id_staging = tempfile::Builder::new()
        .prefix(&format!(".new-{}-", config.org))
        .tempdir_in(&config.config_dir)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                config.config_dir.display()
            )
        })?;
    std::fs::set_permissions(
        id_staging.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let note = if demo {
        "INSECURE DEMO IDENTITY: derived from a public --seed, not secret"
    } else {
        "sweetlies-appliance identity: keep secret, back it up offline"
    };
    let mut admin_identity_file = None;
    if let Some(admin) = &admin_identity {
        fsutil::write_new(
            &identity::admin_identity_in(id_staging.path()),
            identity::identity_file_text(admin, &format!("{note}; admin of org {}", config.org))
                .as_bytes(),
            0o600,
        )?;
        admin_identity_file = Some(admin_identity_path(&config.config_dir, &config.org));
    }
    fsutil::create_dir_all_mode(&identity::host_identities_in(id_staging.path()), 0o700)?;
    for (host, id) in host_names.iter().zip(&host_identities) {
        let text = identity::identity_file_text(id, &format!("{note}; host {host}"));
        fsutil::write_new(
            &identity::host_identity_in(id_staging.path(), host),
            text.as_bytes(),
            0o600,
        )?;
    }
    fsutil::sync_dir(&identity::host_identities_in(id_staging.path()))?;
    fsutil::sync_dir(id_staging.path())?;

    // Commit: identities first, so that an org in the repository always has its keys.
    std::fs::rename(id_staging.path(), &identities_dir)
        .with_context(|| format!("cannot move identities into {}", identities_dir.display()))?;
    let _ = id_staging.keep();
    if let Err(e) = std::fs::rename(staging.path(), &org_dir) {
        let _ = std::fs::remove_dir_all(&identities_dir);
        return Err(e)
            .with_context(|| format!("cannot move the new org into {}", org_dir.display()));
    }
    let _ = staging.keep();
    fsutil::sync_dir(&hosts_dir)?;
    fsutil::sync_dir(&config.config_dir)?;
    cleanup_hosts_dir.disarm();
    cleanup_config_dir.disarm();

    Ok(NewOrgReport {
        host_identities: host_names
            .iter()
            .map(|h| host_identity_path(&config.config_dir, &config.org, h))
            .collect(),
        spec,
        org_dir,
        admin_identity: admin_identity_file,
    })
}

pub fn render_default_nix(spec: &OrgSpec) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_keep_trailing_newline(true);
    env.add_template("default.nix", DEFAULT_NIX_TEMPLATE)?;
    let hosts: Vec<&str> = spec.hosts.iter().map(|h| h.name.as_str()).collect();
    Ok(env
        .get_template("default.nix")?
        .render(minijinja::context! { demo => spec.demo, hosts => hosts })?)
}

fn date(year: i32, month: u8, day: u8) -> OffsetDateTime {
    time::Date::from_calendar_date(
        year,
        time::Month::try_from(month).expect("valid month"),
        day,
    )
    .expect("valid date")
    .midnight()
    .assume_utc()
}

/// Removes a directory this run created (if still empty) unless disarmed.
struct RemoveIfEmpty<'a> {
    path: Option<&'a Path>,
}

fn scopeguard(armed: bool, path: &Path) -> RemoveIfEmpty<'_> {
    RemoveIfEmpty {
        path: armed.then_some(path),
    }
}

impl RemoveIfEmpty<'_> {
    fn disarm(mut self) {
        self.path = None;
    }
}

impl Drop for RemoveIfEmpty<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.path {
            let _ = std::fs::remove_dir(path);
        }
    }
}

fn print_summary(config: &NewOrgConfig, report: &NewOrgReport) {
    let spec = &report.spec;
    println!(
        "Created org {:?} ({}) in {}",
        spec.org,
        spec.domain,
        report.org_dir.display()
    );
    for host in &spec.hosts {
        let roles: Vec<String> = host
            .roles
            .iter()
            .map(|r| format!("{r:?}").to_lowercase())
            .collect();
        println!("  host {}: {}", host.name, roles.join(", "));
    }
    match &report.admin_identity {
        Some(path) => println!(
            "Admin identity (keep secret, back it up): {}",
            path.display()
        ),
        None => println!("Admin recipient: the one given with --admin-recipient"),
    }
    for path in &report.host_identities {
        println!("Host identity: {}", path.display());
    }
    println!();
    println!("Next steps:");
    println!(
        "  1. sweetlies-appliance check {} --repo {} --config-dir {}",
        spec.org,
        config.repo.display(),
        config.config_dir.display()
    );
    println!(
        "  2. point DNS for {} at your host(s)",
        spec.services
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  3. commit hosts/{}/ (secrets are encrypted; identities stay in {})",
        spec.org,
        config.config_dir.join(&spec.org).display()
    );
    println!(
        "  4. build and flash an image per host; the host identity goes onto its seed partition"
    );
}
