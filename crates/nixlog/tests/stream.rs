//! The internal-json parser and state on recorded streams (Nix 2.8, `tests/fixtures/`), on a
//! constructed stream with substitutions and interleaved plain lines, and on a real failing
//! `nix build` where Nix is installed and usable.

use std::process::Command;

use sweetlies_nixlog::{BuildState, NixError, parse_line, run_logged};

fn fold(stream: &str) -> BuildState {
    let mut state = BuildState::default();
    for line in stream.lines() {
        state.apply(parse_line(line));
    }
    state
}

const FAILED_DRV: &str = "/nix/store/g06y2sk1ribypc7p6apnh2smr2gr06xh-sweetlies-fail-demo.drv";

#[test]
fn recorded_failing_build_names_the_derivation_and_keeps_its_log() {
    let state = fold(include_str!("fixtures/nix-2.8-failing-build.jsonl"));
    assert_eq!(state.failed_derivation().as_deref(), Some(FAILED_DRV));
    assert_eq!(
        state.errors,
        vec![format!(
            "error: builder for '{FAILED_DRV}' failed with exit code 3"
        )]
    );
    assert_eq!(
        state.failure_log(),
        [
            "configuring",
            "step one",
            "step two",
            "cc: error: missing.c: No such file"
        ]
    );
    assert_eq!(state.builds.failed, 1);
    assert!(state.current_builds().is_empty(), "the build stopped");
}

#[test]
fn recorded_successful_build_has_no_errors() {
    let state = fold(include_str!("fixtures/nix-2.8-successful-build.jsonl"));
    assert!(state.errors.is_empty());
    assert_eq!(state.failed_derivation(), None);
    assert!(state.current_builds().is_empty());
}

#[test]
fn constructed_stream_tracks_builds_downloads_and_the_current_derivation() {
    let hello = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12.drv";
    let stream = [
        r#"@nix {"action":"start","id":1,"level":0,"text":"","type":102}"#.to_string(),
        r#"@nix {"action":"start","id":2,"level":0,"text":"","type":104}"#.into(),
        r#"@nix {"action":"start","id":3,"level":0,"text":"","type":103}"#.into(),
        r#"@nix {"action":"result","fields":[105,2],"id":1,"type":106}"#.into(),
        r#"@nix {"action":"result","fields":[101,5000000],"id":1,"type":106}"#.into(),
        "warning: Git tree '/src/sweetlies' is dirty".into(),
        r#"@nix {"action":"start","fields":["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc-2.40","https://cache.example"],"id":4,"level":4,"text":"copying path","type":108}"#.into(),
        r#"@nix {"action":"start","fields":["https://cache.example/nar/x.nar.xz"],"id":5,"level":4,"parent":4,"text":"downloading","type":101}"#.into(),
        r#"@nix {"action":"result","fields":[2097152,5000000,0,0],"id":5,"type":105}"#.into(),
        r#"@nix {"action":"result","fields":[1,3,1,0],"id":3,"type":105}"#.into(),
        "plain line from the daemon, between events".into(),
        format!(r#"@nix {{"action":"start","fields":["{hello}","",1,1],"id":6,"level":3,"text":"building","type":105}}"#),
        r#"@nix {"action":"result","fields":[0,2,1,0],"id":2,"type":105}"#.into(),
        r#"@nix {"action":"result","fields":["buildPhase"],"id":6,"type":104}"#.into(),
        r#"@nix {"action":"result","fields":["gcc -c hello.c"],"id":6,"type":101}"#.into(),
        r#"@nix {"action":"msg","level":1,"msg":"\u001b[35;1mwarning:\u001b[0m something harmless"}"#.into(),
    ].join("\n");
    let state = fold(&stream);
    assert_eq!(
        (
            state.builds.done,
            state.builds.expected,
            state.builds.running
        ),
        (0, 2, 1)
    );
    assert_eq!((state.downloads.done, state.downloads.expected), (1, 3));
    assert_eq!(state.download_bytes_done(), 2097152);
    assert_eq!(state.download_bytes_expected, 5000000);
    assert_eq!(state.current_builds(), ["hello-2.12"]);
    assert_eq!(state.current_downloads(), ["glibc-2.40"]);
    assert_eq!(
        state.summary(),
        "builds 0/2 · downloads 1/3 (2 MiB) · building hello-2.12 (buildPhase)"
    );
    assert!(state.errors.is_empty(), "a warning is not an error");

    // The build then fails: the error names it and shows its log, not the plain lines.
    let failed = format!(
        "{stream}\n@nix {{\"action\":\"stop\",\"id\":6}}\n@nix {{\"action\":\"msg\",\"level\":0,\"msg\":\"error: builder for '{hello}' failed with exit code 2\"}}"
    );
    let state = fold(&failed);
    assert_eq!(state.failed_derivation().as_deref(), Some(hello));
    assert_eq!(state.failure_log(), ["gcc -c hello.c"]);

    // An evaluation error names no derivation: the plain output is what helps.
    let state = fold(
        "warning: Git tree is dirty\n@nix {\"action\":\"msg\",\"level\":0,\"msg\":\"error: flake has no attribute 'x'\"}",
    );
    assert_eq!(state.failed_derivation(), None);
    assert_eq!(state.failure_log(), ["warning: Git tree is dirty"]);
}

/// A real `nix build` of a derivation that fails: exercises process handling and the error.
#[test]
fn real_failing_nix_build_reports_command_derivation_and_log() {
    let usable = Command::new("nix").arg("--version").output().map(|output| output.status.success()).unwrap_or(false)
        && std::fs::metadata("/nix/store").is_ok()
        // SAFETY: geteuid has no preconditions.
        && unsafe { libc_geteuid() } == 0;
    if !usable {
        use std::io::Write;
        // The real stderr: the test harness hides `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "
!!!!! SKIPPED real_failing_nix_build: needs `nix` and a writable /nix/store (root) !!!!!
"
        );
        return;
    }
    let expression = r#"derivation { name = "sweetlies-nixlog-test"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo first line; echo fatal: the test fails on purpose >&2; exit 4" ]; }"#;
    let mut command = Command::new("nix");
    command
        .arg("build")
        .args([
            "--extra-experimental-features",
            "nix-command flakes",
            "--log-format",
            "internal-json",
            "-v",
            "--no-link",
            "--impure",
        ])
        .args([
            "--option",
            "sandbox",
            "false",
            "--option",
            "substituters",
            "",
        ])
        .args(["--expr", expression]);
    let mut updates = 0;
    let error = run_logged(&mut command, &mut |_| updates += 1).unwrap_err();
    let NixError::Failed {
        derivation, log, ..
    } = &error
    else {
        panic!("expected a build failure, got {error}")
    };
    assert!(
        derivation
            .as_deref()
            .is_some_and(|path| path.ends_with("-sweetlies-nixlog-test.drv")),
        "{error}"
    );
    assert_eq!(log, &["first line", "fatal: the test fails on purpose"]);
    let message = error.to_string();
    assert!(
        message.starts_with("`nix build --extra-experimental-features 'nix-command flakes'"),
        "{message}"
    );
    assert!(
        message.contains("failed with exit code 4")
            && message.contains("last log lines of sweetlies-nixlog-test:"),
        "{message}"
    );
    assert!(updates > 5, "progress observer saw {updates} updates");
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
