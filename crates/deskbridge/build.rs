//! Records the git commit the binary is built from, for `deskbridge --version`
//! and `deskbridge_build_info`: `DESKBRIDGE_COMMIT` when the build sets it (a
//! container build copies no `.git`), else `git rev-parse --short HEAD`, else
//! `unknown` (a source tarball).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=DESKBRIDGE_COMMIT");
    let commit = std::env::var("DESKBRIDGE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DESKBRIDGE_COMMIT={commit}");
    // Built again when HEAD moves (a commit, a checkout); in a worktree HEAD is
    // in its own git dir, the branches in the common one.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
    }
    if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
        println!("cargo:rerun-if-changed={dir}/refs/heads");
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
}
