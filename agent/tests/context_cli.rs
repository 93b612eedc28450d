//! `kura context add|list|show` through the real binary: against the store directly, and
//! through a running server's owner routes when the server holds the store.

// Test helpers outside #[test] functions: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used)]

mod server_common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const URL: &str = "https://licences.example/contexts/cli/v1";
const DOCUMENT: &str =
    "{\"@context\": {\"endorsement\": \"https://licences.example/vocab#endorsement\"}}\n";

fn kura(data: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kura"))
        .arg("context")
        .args(arguments)
        .arg("--data")
        .arg(data)
        .env_remove("KURA_DATA")
        .output()
        .expect("kura runs")
}

fn ok(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn refused(output: &Output, reason: &str) {
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(reason) && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn add_list_and_show_against_the_store() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("repo");
    let init = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args([
            "init",
            "--did",
            "did:web:127.0.0.1%3A9",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let file = scratch.path().join("context.json");
    std::fs::write(&file, DOCUMENT).unwrap();
    let file = file.to_str().unwrap();

    let added = ok(&kura(&data, &["add", URL, file]));
    let sha256 = vc_schemas::jsonld::bundled::sha256_hex(DOCUMENT.as_bytes());
    assert_eq!(added["sha256"], sha256.as_str());
    assert_eq!(added["added"], true);
    // Again: nothing new.
    assert_eq!(ok(&kura(&data, &["add", URL, file]))["added"], false);

    let list = ok(&kura(&data, &["list"]));
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["url"] == URL && c["origin"] == "added"));
    let shown = ok(&kura(&data, &["show", URL]));
    assert_eq!(shown["document"], DOCUMENT);
    let raw = kura(&data, &["show", URL, "--raw"]);
    assert_eq!(String::from_utf8(raw.stdout).unwrap(), DOCUMENT);
    let bundled = ok(&kura(
        &data,
        &["show", "https://www.w3.org/ns/credentials/v2"],
    ));
    assert_eq!(bundled["origin"], "bundled");

    // Refusals: clear errors, exit 2, nothing stored.
    let other = scratch.path().join("other.json");
    std::fs::write(&other, "{\"@context\": {\"x\": \"urn:x\"}}").unwrap();
    let other = other.to_str().unwrap();
    refused(&kura(&data, &["add", URL, other]), "cannot be changed");
    refused(
        &kura(
            &data,
            &["add", "https://www.w3.org/ns/credentials/v2", other],
        ),
        "cannot be replaced",
    );
    let not_json = scratch.path().join("not.json");
    std::fs::write(&not_json, "nope").unwrap();
    refused(
        &kura(
            &data,
            &["add", "https://x.example/c", not_json.to_str().unwrap()],
        ),
        "not JSON",
    );
    refused(
        &kura(
            &data,
            &["add", "https://x.example/c", "/nonexistent/file.json"],
        ),
        "cannot read",
    );
    refused(
        &kura(&data, &["show", "https://x.example/c"]),
        "serves no context",
    );

    let history = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["history", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let history = String::from_utf8_lossy(&history.stdout);
    assert_eq!(history.matches("context-added").count(), 1, "{history}");
    assert!(history.contains(&sha256), "{history}");
}

#[tokio::test]
async fn add_goes_through_the_running_server() {
    let repo = server_common::start(server_common::loopback()).await;
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("context.json");
    std::fs::write(&file, DOCUMENT).unwrap();
    let data = repo.data_dir();
    let file = file.to_str().unwrap().to_owned();
    let output = tokio::task::spawn_blocking(move || kura(&data, &["add", URL, &file]))
        .await
        .unwrap();
    let added = ok(&output);
    assert_eq!(added["added"], true);
    // The running server serves it (its own processor) and stored it.
    let shown = repo
        .admin_get(&format!(
            "/v1/admin/contexts/{}",
            kura_agent::server::encode_segment(URL)
        ))
        .await;
    assert_eq!(shown["sha256"], added["sha256"]);
    assert_eq!(shown["origin"], "added");
    assert_eq!(repo.store.contexts().unwrap().len(), 1);
}

fn run(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(arguments)
        .env_remove("KURA_DATA")
        .output()
        .expect("kura runs")
}

/// `kura vc issue` and `kura vc verify` name an unknown context and an undefined term with the
/// fix; `--context URL=FILE` is that fix for one run.
#[test]
fn vc_issue_and_verify_name_the_unknown_context_and_the_undefined_term() {
    let scratch = tempfile::tempdir().unwrap();
    let at = |name: &str| scratch.path().join(name).to_str().unwrap().to_owned();
    let created = run(&[
        "did",
        "create",
        "--method",
        "key",
        "--alg",
        "ed25519",
        "--out",
        &at("issuer.key"),
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    std::fs::write(at("context.json"), DOCUMENT).unwrap();
    let credential = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", URL],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:bob", "endorsement": "yes"}
    });
    std::fs::write(at("credential.json"), credential.to_string()).unwrap();

    let (key, credential_file) = (at("issuer.key"), at("credential.json"));
    let issue = |extra: &[&str]| {
        let mut arguments = vec![
            "vc",
            "issue",
            "--key",
            &key,
            "--credential",
            &credential_file,
        ];
        arguments.extend_from_slice(extra);
        run(&arguments)
    };
    let unknown = issue(&[]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains(&format!("kura context add {URL} FILE")),
        "{stderr}"
    );

    let pair = format!("{URL}={}", at("context.json"));
    let issued = issue(&["--context", &pair]);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    std::fs::write(at("signed.json"), &issued.stdout).unwrap();
    let signed = at("signed.json");
    let verdict = run(&["vc", "verify", &signed]);
    assert_eq!(verdict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&verdict.stdout).contains("kura context add"));
    assert_eq!(
        run(&["vc", "verify", &signed, "--context", &pair])
            .status
            .code(),
        Some(0)
    );

    // A term no context defines.
    let undefined = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:bob", "qualification": {"name": "Nurse"}}
    });
    std::fs::write(at("credential.json"), undefined.to_string()).unwrap();
    let refused = issue(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the term `qualification` (at /credentialSubject/qualification) is not defined by the @context")
            && stderr.contains("undefined-terms/v2"),
        "{stderr}"
    );
}
