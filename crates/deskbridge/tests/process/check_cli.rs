//! `deskbridge check --config FILE`: what an admin sees before the first start.

use std::process::Command;

fn check(config: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskbridge.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(["check", "--config"])
        .arg(&path)
        .env_remove("DESKBRIDGE_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_group_creating_organizations_without_a_name_is_refused() {
    let group = "[[groups]]\nname = \"support\"\ntokens = [\"support-token-0123456789\"]\n\
                 create = [\"contact\", \"organization\", \"ticket\", \"comment\"]\n";
    let (ok, stdout, stderr) = check(group);
    assert!(!ok, "check said: {stdout}");
    assert!(
        stderr.contains("groups[0].organization_name: create lists \"organization\""),
        "{stderr}"
    );

    let named = format!("{group}organization_name = \"{{{{ attributes.company }}}}\"\n");
    let (ok, stdout, stderr) = check(&named);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(": OK"), "{stdout}");
}
