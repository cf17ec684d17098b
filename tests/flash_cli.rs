//! `sweetlies-appliance flash` and `build` as the operator runs them: real images made with
//! sgdisk/mkfs, files and qcow2, the seed identity, refusals, and `build` driven by a stand-in
//! `nix` that replays a recorded internal-json log (Nix itself cannot build images here).

#[path = "../crates/flash/tests/common/mod.rs"]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;
use sweetlies_appliance::identity::identity_file_text;

fn appliance(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sweetlies-appliance"));
    command
        .args(args.iter().map(|arg| arg.as_ref()))
        .stdin(Stdio::null())
        .env_remove("SWEETLIES_CONFIG_DIR");
    command
}

fn output(command: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `<dir>/config` with a freshly generated identity for host acme-1 of org acme, private to its
/// owner as `new` writes it; returns the config dir and the file's text.
fn config_with_host_identity(dir: &Path) -> (PathBuf, String) {
    let config = dir.join("config");
    fs::create_dir_all(config.join("acme/hosts")).unwrap();
    let identity = identity_file_text(&age::x25519::Identity::generate(), "INSECURE test identity");
    write_private(&config.join("acme/hosts/acme-1.agekey"), &identity);
    (config, identity.as_str().to_owned())
}

fn write_private(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// `flash IMAGE TARGET --org acme --host HOST` with identities from `config`.
fn flash_with_host(
    image: &Path,
    target: &Path,
    host: &str,
    config: &Path,
) -> (bool, String, String) {
    output(
        appliance(&[
            &"flash", &image, &target, &"--org", &"acme", &"--host", &host,
        ])
        .env("SWEETLIES_CONFIG_DIR", config),
    )
}

fn image_with_bmap(dir: &Path) -> std::path::PathBuf {
    let image = build_image(dir, "acme-1.raw", 64 * MIB, 2 * MIB as usize);
    sweetlies_flash::artifacts::write_image_artifacts(&image, true).unwrap();
    image
}

#[test]
fn flashes_into_a_file_with_the_bmap_next_to_the_image() {
    let dir = ScratchDir::new("cli-file");
    let image = image_with_bmap(&dir.path);
    let target = dir.path.join("disk.img");
    fs::File::create(&target).unwrap();
    let (ok, stdout, stderr) = output(&mut appliance(&[&"flash", &image, &target]));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("done") && stderr.contains("verified every mapped range"),
        "{stdout}{stderr}"
    );
    assert!(run(Command::new("cmp").arg(&image).arg(&target)).is_empty());
}

#[test]
fn writes_the_host_identity_from_the_config_dir_into_the_seed() {
    let dir = ScratchDir::new("cli-seed");
    let image = image_with_bmap(&dir.path);
    let (config, identity) = config_with_host_identity(&dir.path);
    let target = dir.path.join("disk.img");
    fs::File::create(&target).unwrap();

    let (ok, _, stderr) = flash_with_host(&image, &target, "acme-1", &config);
    assert!(ok, "{stderr}");
    assert!(
        !stderr.contains("AGE-SECRET-KEY"),
        "the identity must never be printed: {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&mtype(&target, SEED_OFFSET)),
        identity
    );

    // A host without identity, with a file that is no age identity, or with one other users
    // can read fails before the target is touched.
    let untouched = dir.path.join("untouched.img");
    fs::File::create(&untouched).unwrap();
    let (ok, _, stderr) = flash_with_host(&image, &untouched, "acme-2", &config);
    assert!(!ok && stderr.contains("acme-2.agekey"), "{stderr}");
    write_private(&config.join("acme/hosts/acme-3.agekey"), "not a key\n");
    let (ok, _, stderr) = flash_with_host(&image, &untouched, "acme-3", &config);
    assert!(
        !ok && stderr.contains("acme-3.agekey") && stderr.contains("sweetlies-appliance new"),
        "{stderr}"
    );
    let readable = config.join("acme/hosts/acme-4.agekey");
    fs::write(&readable, &identity).unwrap();
    fs::set_permissions(&readable, fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, stderr) = flash_with_host(&image, &untouched, "acme-4", &config);
    assert!(!ok && stderr.contains("chmod 600"), "{stderr}");
    assert_eq!(fs::metadata(&untouched).unwrap().len(), 0);
}

#[test]
fn flashes_a_qcow2_image() {
    let dir = ScratchDir::new("cli-qcow2");
    let image = build_image(&dir.path, "acme-1.raw", 64 * MIB, MIB as usize);
    let qcow2 = dir.path.join("acme-1.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&image)
        .arg(&qcow2));
    let target = dir.path.join("disk.img");
    fs::File::create(&target).unwrap();
    let (ok, _, stderr) = output(&mut appliance(&[&"flash", &qcow2, &target]));
    assert!(ok, "{stderr}");
    assert!(run(Command::new("cmp").arg(&image).arg(&target)).is_empty());
}

#[test]
fn refusals_leave_the_target_alone_and_say_what_to_do() {
    let dir = ScratchDir::new("cli-refuse");
    let image = image_with_bmap(&dir.path);

    let (ok, _, stderr) = output(&mut appliance(&[
        &"flash",
        &image,
        &dir.path.join("missing.img"),
    ]));
    assert!(
        !ok && stderr.contains("does not exist") && stderr.contains("touch"),
        "{stderr}"
    );

    let (ok, _, stderr) = output(&mut appliance(&[&"flash", &image, &dir.path]));
    assert!(!ok && stderr.contains("is a directory"), "{stderr}");

    // A non-empty file needs confirmation; stdin is not a terminal here.
    let precious = dir.path.join("precious.img");
    fs::write(&precious, b"do not overwrite").unwrap();
    let (ok, _, stderr) = output(&mut appliance(&[&"flash", &image, &precious]));
    assert!(
        !ok && stderr.contains("without confirmation") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(fs::read(&precious).unwrap(), b"do not overwrite");
    let (ok, _, stderr) = output(&mut appliance(&[&"flash", &image, &precious, &"--yes"]));
    assert!(ok, "{stderr}");

    // A block map of another image.
    let other = build_image(&dir.path, "other.raw", 32 * MIB, 4096);
    let target = dir.path.join("t.img");
    fs::File::create(&target).unwrap();
    let bmap = dir.path.join("acme-1.raw.bmap");
    let (ok, _, stderr) = output(&mut appliance(&[
        &"flash", &other, &target, &"--bmap", &bmap,
    ]));
    assert!(
        !ok && stderr.contains("belongs to another image"),
        "{stderr}"
    );
}

#[test]
fn refuses_a_mounted_loop_device() {
    if !require_root("refuses_a_mounted_loop_device (cli)") {
        return;
    }
    let dir = ScratchDir::new("cli-mounted");
    let image = image_with_bmap(&dir.path);
    let backing = dir.path.join("device.img");
    fs::File::create(&backing)
        .unwrap()
        .set_len(80 * MIB)
        .unwrap();
    run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&backing));
    let device = LoopDevice::attach(&backing, false);
    let mounted = Mounted::mount(&device.path, &dir.path.join("mnt"));
    let (ok, _, stderr) = output(&mut appliance(&[&"flash", &image, &device.path, &"--yes"]));
    assert!(
        !ok && stderr.contains("is mounted at")
            && stderr.contains(&mounted.mount_point.display().to_string()),
        "{stderr}"
    );
    drop(mounted);
    // Unmounted, without --yes and without a terminal: refused, naming the device and its size.
    let (ok, _, stderr) = output(&mut appliance(&[&"flash", &image, &device.path]));
    assert!(
        !ok && stderr.contains("80.0 MiB") && stderr.contains("--yes"),
        "{stderr}"
    );
}

/// A stand-in for `nix` that records its arguments, replays a recorded log on stderr and
/// prints an output path, as `nix build --print-out-paths` does.
fn fake_nix(dir: &Path, log: &str, out_path: &Path, exit_code: i32) -> std::path::PathBuf {
    let script = dir.join("nix");
    let log_file = dir.join("nix-log.jsonl");
    fs::write(&log_file, log).unwrap();
    fs::write(&script, format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {args}\ncat {log} >&2\n[ {code} -eq 0 ] && echo {out}\nexit {code}\n",
        args = dir.join("nix-args").display(), log = log_file.display(), out = out_path.display(), code = exit_code)).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// A checkout with org acme (hosts acme-1 and acme-2), made by `new`.
fn org_repo(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    fs::create_dir_all(&repo).unwrap();
    let (ok, _, stderr) = output(&mut appliance(&[
        &"new",
        &"acme",
        &"--domain",
        &"acme.example",
        &"--hosts",
        &"2",
        &"--seed",
        &"00",
        &"--repo",
        &repo,
        &"--config-dir",
        &dir.join("config"),
    ]));
    assert!(ok, "{stderr}");
    repo
}

#[test]
fn build_links_the_image_and_writes_sha256_and_bmap() {
    let dir = ScratchDir::new("cli-build");
    let store_output = dir.path.join("store-output");
    fs::create_dir_all(&store_output).unwrap();
    build_image(
        &store_output,
        "sweetlies-acme-1.raw",
        64 * MIB,
        MIB as usize,
    );
    let nix = fake_nix(
        &dir.path,
        include_str!("../crates/nixlog/tests/fixtures/nix-2.8-successful-build.jsonl"),
        &store_output,
        0,
    );
    let repo = org_repo(&dir.path);
    let out = dir.path.join("images");

    let (ok, stdout, stderr) = output(&mut appliance(&[
        &"build",
        &"acme",
        &"--host",
        &"acme-1",
        &"--repo",
        &repo,
        &"--out-dir",
        &out,
        &"--nix",
        &nix,
    ]));
    assert!(ok, "{stderr}");
    let link = out.join("acme-1.raw");
    assert_eq!(stdout.trim(), link.display().to_string());
    assert_eq!(
        fs::read_link(&link).unwrap(),
        store_output.join("sweetlies-acme-1.raw")
    );
    let args = fs::read_to_string(dir.path.join("nix-args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        args,
        [
            "build",
            "--extra-experimental-features",
            "nix-command flakes",
            "--log-format",
            "internal-json",
            "-v",
            "--print-out-paths",
            "--out-link",
            &out.join("acme-1.raw.result").display().to_string(),
            &format!(
                "{}#nixosConfigurations.acme-1.config.system.build.images.sweetlies",
                repo.display()
            )
        ]
    );
    assert!(
        run(Command::new("sha256sum")
            .arg("-c")
            .arg("acme-1.raw.sha256")
            .current_dir(&out))
        .contains("acme-1.raw: OK")
    );
    // The block map is good enough for bmaptool, where it is installed.
    if Command::new("bmaptool").arg("--version").output().is_ok() {
        let copy = dir.path.join("copy.img");
        run(Command::new("bmaptool")
            .args(["copy", "--bmap"])
            .arg(out.join("acme-1.raw.bmap"))
            .arg(&link)
            .arg(&copy));
        assert!(run(Command::new("cmp").arg(&link).arg(&copy)).is_empty());
    }
}

#[test]
fn build_failure_names_the_command_the_derivation_and_its_last_log_lines() {
    let dir = ScratchDir::new("cli-build-fail");
    let nix = fake_nix(
        &dir.path,
        include_str!("../crates/nixlog/tests/fixtures/nix-2.8-failing-build.jsonl"),
        &dir.path,
        1,
    );
    let repo = org_repo(&dir.path);
    let (ok, _, stderr) = output(&mut appliance(&[
        &"build",
        &"acme",
        &"--host",
        &"acme-1",
        &"--repo",
        &repo,
        &"--out-dir",
        &dir.path.join("images"),
        &"--nix",
        &nix,
    ]));
    assert!(!ok);
    assert!(
        stderr.contains("building the image of acme-1 failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "`{} build --extra-experimental-features 'nix-command flakes'",
            nix.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("builder for '/nix/store/g06y2sk1ribypc7p6apnh2smr2gr06xh-sweetlies-fail-demo.drv' failed with exit code 3"), "{stderr}");
    assert!(
        stderr.contains("last log lines of sweetlies-fail-demo:")
            && stderr.contains("| cc: error: missing.c: No such file"),
        "{stderr}"
    );

    let (ok, _, stderr) = output(&mut appliance(&[
        &"build", &"acme", &"--host", &"acme-9", &"--repo", &repo, &"--nix", &nix,
    ]));
    assert!(
        !ok && stderr.contains("no host acme-9") && stderr.contains("acme-1, acme-2"),
        "{stderr}"
    );

    // An org.json that is not the org spec (here: no schemaVersion) is refused, as by `check`.
    fs::create_dir_all(repo.join("hosts/bad")).unwrap();
    fs::write(
        repo.join("hosts/bad/org.json"),
        r#"{"org":"bad","hosts":[{"name":"bad-1"}]}"#,
    )
    .unwrap();
    let (ok, _, stderr) = output(&mut appliance(&[
        &"build", &"bad", &"--repo", &repo, &"--nix", &nix,
    ]));
    assert!(
        !ok && stderr.contains("not a valid org spec") && stderr.contains("schemaVersion"),
        "{stderr}"
    );
}

#[test]
fn flashes_into_a_qcow2_target_with_the_seed() {
    let dir = ScratchDir::new("cli-qcow2-target");
    let image = image_with_bmap(&dir.path);
    let (config, identity) = config_with_host_identity(&dir.path);
    let target = dir.path.join("vm.qcow2");
    fs::File::create(&target).unwrap();
    let (ok, _, stderr) = flash_with_host(&image, &target, "acme-1", &config);
    assert!(ok, "{stderr}");
    let info = run(Command::new("qemu-img").arg("info").arg(&target));
    assert!(info.contains("file format: qcow2"), "{info}");
    let back = dir.path.join("back.raw");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(&target)
        .arg(&back));
    assert_eq!(
        String::from_utf8_lossy(&mtype(&back, SEED_OFFSET)),
        identity
    );
    // Outside the seed partition the VM disk is the image.
    assert!(read_range(&image, ROOT_OFFSET, 64 * MIB) == read_range(&back, ROOT_OFFSET, 64 * MIB));
    let leftovers: Vec<_> = fs::read_dir(&dir.path)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
