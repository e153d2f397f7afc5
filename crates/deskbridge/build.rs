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
    // Built again when HEAD moves (a commit, a checkout): HEAD itself (in a
    // worktree, in its own git dir) and the ref of the branch it is on (in the
    // common dir, loose or packed). Only that branch's ref: the whole of
    // `refs/heads` would rebuild this crate whenever any branch moves, another
    // worktree's included. Only paths that exist are named: cargo takes a
    // missing one for changed and would rebuild this crate (and all above it)
    // on every command; a new clone often has no `packed-refs`.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch_if_present(&format!("{dir}/HEAD"));
    }
    if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch_if_present(&format!("{dir}/{branch}"));
        }
        watch_if_present(&format!("{dir}/packed-refs"));
    }
}

/// Asks cargo to rebuild when `path` changes, if it exists.
fn watch_if_present(path: &str) {
    if std::path::Path::new(path).exists() {
        println!("cargo:rerun-if-changed={path}");
    }
}
