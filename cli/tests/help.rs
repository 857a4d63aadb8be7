//! Snapshots of every command's `--help` and of the usage errors a person meets first: a missing
//! or conflicting mode, a missing `--source`, and the legacy and out-of-scope forms that must fail
//! as unknown arguments (exit 2) without pointing anywhere else (issue 10).

#![allow(
    clippy::unwrap_used,
    reason = "integration test code: a panic is a test failure"
)]

use std::process::{Command, Output};

/// Every command path of the surface (SPEC 8.2). A new subcommand without a snapshot here is
/// caught by `every_subcommand_listed_in_help_has_a_snapshot`.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["status"],
    &["progress"],
    &["manifest"],
    &["stats"],
    &["run"],
    &["generate"],
    &["generate", "questions"],
    &["generate", "episodes"],
    &["inspect"],
    &["inspect", "questions"],
    &["inspect", "episodes"],
    &["inspect", "trace"],
    &["validate"],
    &["upload"],
    &["sandbox"],
    &["sandbox", "build"],
    &["sandbox", "status"],
    &["sandbox", "prune"],
    &["datasets"],
    &["datasets", "list"],
    &["datasets", "profile"],
];

fn csvagent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_csvagent"))
        .args(args)
        // Help wraps at the terminal width; fix it so snapshots do not depend on the terminal.
        .env("COLUMNS", "100")
        .env_remove("CSVAGENT_TEACHER_URL")
        .env_remove("CSVAGENT_TEACHER_MODEL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_has_a_stable_help_text() {
    for path in COMMANDS {
        let mut args = path.to_vec();
        args.push("--help");
        let o = csvagent(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let name = if path.is_empty() {
            "help".to_owned()
        } else {
            format!("help_{}", path.join("_"))
        };
        insta::assert_snapshot!(name, text(&o));
    }
}

/// The subcommands a help text lists under `Commands:` (minus clap's own `help`).
fn listed_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions continue on deeper-indented lines.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_subcommand_listed_in_help_has_a_snapshot() {
    for path in COMMANDS {
        let mut args = path.to_vec();
        args.push("--help");
        for sub in listed_subcommands(&text(&csvagent(&args))) {
            let mut full = path.to_vec();
            full.push(&sub);
            assert!(
                COMMANDS.contains(&full.as_slice()),
                "`csvagent {}` has no help snapshot",
                full.join(" ")
            );
        }
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let top = text(&csvagent(&["--help"]));
    assert!(top.contains("Exit codes:"), "{top}");
    for code in ["0", "1", "2", "3", "130"] {
        let documented = top
            .lines()
            .any(|l| l.split_whitespace().next() == Some(code) && l.starts_with("  "));
        assert!(documented, "top-level help lacks exit code {code}:\n{top}");
    }
}

/// Asserts a usage error: exit 2, every `needles` in the output, and no pointer to a replacement.
fn usage_error(args: &[&str], needles: &[&str]) -> String {
    let o = csvagent(args);
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{args:?} must be a usage error:\n{out}"
    );
    for n in needles {
        assert!(out.contains(n), "{args:?}: output lacks `{n}`:\n{out}");
    }
    let lower = out.to_lowercase();
    for hint in [
        "similar",
        "did you mean",
        "instead",
        "renamed",
        "replaced",
        "deprecated",
        "migrat",
        "now called",
    ] {
        assert!(
            !lower.contains(hint),
            "{args:?}: output hints at a replacement (`{hint}`):\n{out}"
        );
    }
    out
}

#[test]
fn a_missing_mode_fails_at_once_and_lists_the_modes() {
    let modes = "<--template|--procedural|--llm-gen|--all>";
    for args in [
        &["run"][..],
        &["generate", "questions"],
        &["generate", "episodes"],
    ] {
        let out = usage_error(args, &[modes]);
        insta::assert_snapshot!(format!("missing_mode_{}", args.join("_")), out);
    }
}

#[test]
fn two_modes_at_once_are_refused() {
    for args in [
        &["run", "--template", "--procedural"][..],
        &["generate", "episodes", "--all", "--llm-gen"],
    ] {
        let out = usage_error(args, &["cannot be used with"]);
        insta::assert_snapshot!(
            format!("conflicting_modes_{}", args[..args.len() - 2].join("_")),
            out
        );
    }
}

#[test]
fn inspect_questions_requires_a_source_and_names_the_valid_ones() {
    let out = usage_error(&["inspect", "questions"], &["--source"]);
    insta::assert_snapshot!("inspect_questions_without_source", out);
    let bad = usage_error(
        &["inspect", "questions", "--source", "synthetic"],
        &["template", "procedural", "llm_gen", "all"],
    );
    insta::assert_snapshot!("inspect_questions_bad_source", bad);
}

#[test]
fn legacy_and_out_of_scope_forms_are_unknown_arguments() {
    let forms: &[&[&str]] = &[
        &["run", "--synth"],
        &["run", "--triangulate"],
        &["run", "--procedural", "--triangulate"],
        &["generate", "questions", "--synth"],
        &["generate", "episodes", "--template", "--verify"],
        &["--synth", "status"],
        &["push"],
        &["push-to-hub"],
        &["upload-hf"],
        &["train"],
        &["sft"],
        &["finetune"],
        &["fine-tune"],
    ];
    for args in forms {
        let out = usage_error(args, &[]);
        let offending = args
            .iter()
            .find(|a| {
                ![
                    "run",
                    "generate",
                    "questions",
                    "episodes",
                    "--procedural",
                    "--template",
                    "status",
                ]
                .contains(a)
            })
            .unwrap();
        assert!(
            out.contains(offending),
            "{args:?}: the error must name `{offending}`:\n{out}"
        );
    }
    insta::assert_snapshot!("unknown_synth_flag", usage_error(&["run", "--synth"], &[]));
    insta::assert_snapshot!("unknown_train_command", usage_error(&["train"], &[]));
}

#[test]
fn run_test_alone_and_with_one_mode_parses() {
    // `--dry-run` keeps this a parse check: it prints the plan and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let datasets = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/datasets");
    for extra in [&[][..], &["--procedural"]] {
        let mut args = vec![
            "--data-dir",
            data.to_str().unwrap(),
            "--datasets",
            datasets,
            "run",
            "--test",
            "--dry-run",
        ];
        args.extend_from_slice(extra);
        let o = csvagent(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("No changes made (dry run)"),
            "{}",
            text(&o)
        );
    }
    assert!(!data.join("questions").exists(), "a dry run writes nothing");
}

#[test]
fn an_empty_trace_prefix_is_a_usage_error() {
    usage_error(&["inspect", "trace", ""], &["EPISODE_ID_PREFIX"]);
}
