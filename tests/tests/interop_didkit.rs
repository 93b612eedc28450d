//! Interop with didkit, SpruceID's library on ssi 0.7, through its Python binding from PyPI
//! (`tests/interop/didkit/peer.py`, pinned in `requirements.txt`; docs/interop.md). didkit 0.3.3
//! speaks VC Data Model 1.1 and its own proof types, so the checks are on VCDM 1.1 credentials:
//!
//! - didkit's credentials (`Ed25519Signature2020`, and VC-JWT with its fractional `nbf`) verify
//!   in kura (`kura vc verify`), and a tampered copy fails in both.
//!
//! The other way is not tested yet: kura issues VCDM 2.0 only, which didkit 0.3.3 cannot read,
//! and the VCDM 2.0 fork `openedx-didkit` 0.3.5 refuses kura's VC-JOSE-COSE credentials ("Missing
//! credential") and Data Integrity ones (docs/interop.md).
//!
//! Skips loudly without the virtualenv on a developer machine; fails under CI or `scripts/test`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use kura_tests::{didkit_python, kura_bin, skip_unless_available, workspace_root};
use serde_json::{json, Value};

fn peer() -> Option<PathBuf> {
    let python = didkit_python();
    skip_unless_available(python.is_some(), "the didkit virtualenv").then_some(python?)
}

fn didkit(python: &Path, args: &[&str]) -> Output {
    Command::new(python)
        .arg(workspace_root().join("tests/interop/didkit/peer.py"))
        .args(args)
        .output()
        .unwrap()
}

fn kura(args: &[&str]) -> Output {
    Command::new(kura_bin()).args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn credential_v1(issuer: &str) -> Value {
    json!({
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://www.w3.org/2018/credentials/examples/v1"
        ],
        "id": "urn:uuid:3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:hanako", "alumniOf": "Example University"}
    })
}

/// kura's verdict on `file`: (valid, errors).
fn kura_verdict(file: &Path) -> (bool, Vec<String>) {
    let output = kura(&["vc", "verify", file.to_str().unwrap()]);
    let verdict: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("kura vc verify: {output:?}"));
    let errors = verdict["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e.to_string()).collect())
        .unwrap_or_default();
    (verdict["valid"] == json!(true), errors)
}

/// A changed claim in a JSON credential or in a JWT's payload, signature kept.
fn tamper(secured: &str) -> String {
    if secured.starts_with('{') {
        let mut document: Value = serde_json::from_str(secured).unwrap();
        document["credentialSubject"]["alumniOf"] = json!("Another University");
        return document.to_string();
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = secured.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["vc"]["credentialSubject"]["alumniOf"] = json!("Another University");
    format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(payload.to_string()),
        parts[2]
    )
}

#[test]
fn didkit_credentials_verify_in_kura_and_tampered_ones_do_not() {
    let Some(python) = peer() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = didkit(&python, &["keygen"]);
    assert!(key.status.success(), "{key:?}");
    let key: Value = serde_json::from_str(&text(&key)).unwrap();
    let jwk = write(dir.path(), "issuer.jwk", &key["jwk"].to_string());
    let unsigned = write(
        dir.path(),
        "unsigned.json",
        &credential_v1(key["did"].as_str().unwrap()).to_string(),
    );
    for (name, flags) in [("ldp", vec![]), ("jwt", vec!["--jwt"])] {
        let mut args = vec!["issue", jwk.to_str().unwrap(), unsigned.to_str().unwrap()];
        args.extend(flags);
        let issued = didkit(&python, &args);
        assert!(issued.status.success(), "{name}: {issued:?}");
        let secured = text(&issued);
        if name == "ldp" {
            let document: Value = serde_json::from_str(&secured).unwrap();
            assert_eq!(document["proof"]["type"], "Ed25519Signature2020");
        }
        // didkit checks its own output first, so a broken install shows as such.
        let file = write(dir.path(), &format!("didkit-{name}.txt"), &secured);
        let own = didkit(&python, &["verify", file.to_str().unwrap()]);
        assert!(own.status.success(), "{name}: didkit on its own: {own:?}");
        let (valid, errors) = kura_verdict(&file);
        assert!(valid, "{name}: kura: {errors:?}");
        let tampered = write(
            dir.path(),
            &format!("tampered-{name}.txt"),
            &tamper(&secured),
        );
        let (valid, errors) = kura_verdict(&tampered);
        assert!(!valid, "{name}: kura accepted a tampered didkit credential");
        assert!(!errors.is_empty());
        let theirs = didkit(&python, &["verify", tampered.to_str().unwrap()]);
        assert_eq!(theirs.status.code(), Some(1), "{name}: {theirs:?}");
    }
}
