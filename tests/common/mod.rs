//! Shared helpers for the CLI integration tests: run the real binary on temp directories.
#![allow(dead_code)] // each test crate uses a different subset

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use sweetlies_appliance::secrets_file::SecretsFile;

/// The demo org's seed ("sweetlies-demo"), see hosts/example/INSECURE-DEMO.md.
pub const DEMO_SEED: &str = "73776565746c6965732d64656d6f";

pub fn appliance() -> Command {
    let mut cmd = Command::cargo_bin("sweetlies-appliance").unwrap();
    cmd.env_remove("SWEETLIES_CONFIG_DIR")
        .env_remove("RUST_LOG");
    cmd
}

/// A temp dir with `repo/` (an empty checkout) and `config/` (not created: `new` creates it).
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        Workspace { dir }
    }
    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }
    pub fn org_dir(&self, org: &str) -> PathBuf {
        self.repo().join("hosts").join(org)
    }
    pub fn admin_key(&self, org: &str) -> PathBuf {
        self.config().join(org).join("admin.agekey")
    }
    pub fn host_key(&self, org: &str, host: &str) -> PathBuf {
        self.config()
            .join(org)
            .join("hosts")
            .join(format!("{host}.agekey"))
    }
    pub fn new_cmd(&self, org: &str, extra: &[&str]) -> Command {
        let mut cmd = appliance();
        cmd.arg("new")
            .arg(org)
            .arg("--repo")
            .arg(self.repo())
            .arg("--config-dir")
            .arg(self.config())
            .args(extra);
        cmd
    }
    pub fn new_org(&self, org: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.new_cmd(org, extra).assert().success()
    }
    pub fn check_cmd(&self, org: &str) -> Command {
        let mut cmd = appliance();
        cmd.arg("check")
            .arg(org)
            .arg("--repo")
            .arg(self.repo())
            .arg("--config-dir")
            .arg(self.config());
        cmd
    }
}

pub fn decrypt(age_file: &Path, identity: &Path) -> SecretsFile {
    let identity = sweetlies_appliance::identity::read_identity_file(identity).unwrap();
    SecretsFile::decrypt(&std::fs::read(age_file).unwrap(), &identity).unwrap()
}

/// Every file below `dir` (relative path → contents).
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Copies a committed fixture identity (git checks it out 0644) to a private 0600 file.
pub fn private_copy(src: &Path, dir: &Path) -> PathBuf {
    let dst = dir.join(src.file_name().unwrap());
    std::fs::copy(src, &dst).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o600)).unwrap();
    dst
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Keys from tests/data/secrets-bundle-keys.txt (extracted from the pinned sample bundle).
pub fn pinned_bundle_keys() -> Vec<String> {
    std::fs::read_to_string(repo_root().join("tests/data/secrets-bundle-keys.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}
