//! The README's main command, `kura demo`, runs end to end on embedded defaults: it issues,
//! presents and verifies credentials over real HTTP on 127.0.0.1 and shows the refusals.

use std::process::Command;

#[test]
fn demo_runs_end_to_end_and_every_check_behaves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(kura_tests::kura_bin())
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run kura demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kura demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("verify di   presentation by did:web:127.0.0.1%3A"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verify jwt  presentation by did:web:127.0.0.1%3A"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("→ valid").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("→ refused").count(), 3, "{stdout}");
    for file in [
        "issuer.key.json",
        "holder.key.json",
        "holder.did.json",
        "credential.di.json",
        "credential.jwt.jwt",
        "presentation.di.json",
        "presentation.jwt.jwt",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} was not written");
    }
    // Key files are private (mode 0600).
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("holder.key.json"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
