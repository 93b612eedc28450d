//! The `kura` credential commands end to end, through the real binary: `did create`,
//! `did resolve`, `vc issue`, `vp create`, `vc verify`, `schema validate`, and their bad
//! inputs (clear error, non-zero exit, no panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kura_tests::kura_bin;
use serde_json::{json, Value};

fn kura(args: &[&str]) -> Output {
    Command::new(kura_bin())
        .args(args)
        .output()
        .expect("run kura")
}

fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("kura exits, it is not killed by a signal")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn no_panic(output: &Output) {
    assert!(
        !stderr(output).contains("panicked"),
        "kura panicked: {}",
        stderr(output)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn create_key(dir: &Path, name: &str, method: &str, alg: &str) -> (PathBuf, String) {
    let file = dir.join(format!("{name}.key"));
    let out = kura(&[
        "did",
        "create",
        "--method",
        method,
        "--alg",
        alg,
        "--out",
        path(&file),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let did = stdout(&out).trim().to_owned();
    assert!(did.starts_with(&format!("did:{method}:")), "{did}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file)
                .expect("key file")
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    (file, did)
}

fn person(subject: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/kura/contexts/v1"],
        "type": ["VerifiableCredential", "PersonIdentityCredential"],
        "credentialSubject": {"id": subject, "givenName": "Hanako", "familyName": "Yamada", "birthDate": "1990-04-01"},
        "credentialSchema": {"id": "https://w3id.org/kura/schemas/v1/person-identity-credential.json", "type": "JsonSchema"}
    })
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, content).expect("write");
    file
}

fn verdict(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("verdict is JSON: {}\n{}", stdout(output), stderr(output)))
}

#[test]
fn issue_present_verify_in_both_formats_and_methods() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    for (method, alg) in [("key", "ed25519"), ("jwk", "p256")] {
        let (issuer_key, issuer) = create_key(dir, &format!("issuer-{method}"), method, alg);
        let (holder_key, holder) = create_key(dir, &format!("holder-{method}"), method, alg);
        let resolved = kura(&["did", "resolve", &issuer]);
        assert_eq!(code(&resolved), 0, "{}", stderr(&resolved));
        assert_eq!(
            serde_json::from_slice::<Value>(&resolved.stdout).expect("document")["id"],
            json!(issuer)
        );
        let template = write(dir, "person.json", &person(&holder).to_string());
        for format in ["di", "jwt"] {
            let issued = kura(&[
                "vc",
                "issue",
                "--key",
                path(&issuer_key),
                "--credential",
                path(&template),
                "--format",
                format,
            ]);
            assert_eq!(code(&issued), 0, "{}", stderr(&issued));
            let vc = write(dir, &format!("vc-{method}-{format}"), &stdout(&issued));
            let checked = kura(&["vc", "verify", path(&vc)]);
            assert_eq!(code(&checked), 0, "{}", stdout(&checked));
            assert_eq!(verdict(&checked)["signer"], json!(issuer));
            let validated = kura(&["schema", "validate", path(&vc)]);
            assert_eq!(
                code(&validated),
                0,
                "{}{}",
                stdout(&validated),
                stderr(&validated)
            );

            let presented = kura(&[
                "vp",
                "create",
                "--key",
                path(&holder_key),
                "--credential",
                path(&vc),
                "--challenge",
                "n-0S6_WzA2Mj",
                "--domain",
                "verifier.example",
                "--format",
                format,
            ]);
            assert_eq!(code(&presented), 0, "{}", stderr(&presented));
            let vp = write(dir, &format!("vp-{method}-{format}"), &stdout(&presented));
            let good = kura(&[
                "vc",
                "verify",
                path(&vp),
                "--challenge",
                "n-0S6_WzA2Mj",
                "--domain",
                "verifier.example",
            ]);
            assert_eq!(code(&good), 0, "{}", stdout(&good));
            assert_eq!(verdict(&good)["credentials"][0]["valid"], json!(true));
            let replayed = kura(&[
                "vc",
                "verify",
                path(&vp),
                "--challenge",
                "another",
                "--domain",
                "verifier.example",
            ]);
            assert_eq!(code(&replayed), 1, "{}", stdout(&replayed));
            assert!(stdout(&replayed).contains("challenge mismatch"));
            let forwarded = kura(&[
                "vc",
                "verify",
                path(&vp),
                "--challenge",
                "n-0S6_WzA2Mj",
                "--domain",
                "evil.example",
            ]);
            assert_eq!(code(&forwarded), 1, "{}", stdout(&forwarded));
        }
    }
}

#[test]
fn tampered_credential_is_invalid_with_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let (issuer_key, _) = create_key(dir, "issuer", "key", "ed25519");
    let template = write(dir, "person.json", &person("did:example:alice").to_string());
    let issued = kura(&[
        "vc",
        "issue",
        "--key",
        path(&issuer_key),
        "--credential",
        path(&template),
    ]);
    assert_eq!(code(&issued), 0, "{}", stderr(&issued));
    let mut vc: Value = serde_json::from_slice(&issued.stdout).expect("vc");
    vc["credentialSubject"]["familyName"] = json!("Suzuki");
    let tampered = write(dir, "tampered.json", &vc.to_string());
    let out = kura(&["vc", "verify", path(&tampered)]);
    assert_eq!(code(&out), 1);
    assert_eq!(verdict(&out)["valid"], json!(false));
    assert!(stdout(&out).contains("invalid proof"));
}

#[test]
fn bad_inputs_give_clear_errors_and_nonzero_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let (issuer_key, _) = create_key(dir, "issuer", "key", "ed25519");
    let not_json = write(dir, "not.json", "this is not JSON {");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["did", "resolve", "not-a-did"], 2, "not a DID"),
        (vec!["did", "resolve", "did:example:123"], 2, "example"),
        (
            vec!["vc", "verify", "/nonexistent/file.json"],
            2,
            "cannot read",
        ),
        (vec!["vc", "verify", path(&not_json)], 2, "JSON"),
        (vec!["schema", "validate", path(&not_json)], 2, "JSON"),
        (
            vec![
                "vc",
                "issue",
                "--key",
                path(&not_json),
                "--credential",
                path(&not_json),
            ],
            2,
            "key file",
        ),
        (
            vec![
                "vc",
                "issue",
                "--key",
                path(&issuer_key),
                "--credential",
                path(&not_json),
            ],
            2,
            "not JSON",
        ),
    ];
    for (args, expected, message) in cases {
        let out = kura(&args);
        no_panic(&out);
        assert_eq!(code(&out), expected, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // An unknown context is refused at issuance, never fetched.
    let mut credential = person("did:example:alice");
    credential["@context"]
        .as_array_mut()
        .expect("array")
        .push(json!("https://contexts.example/unknown/v1"));
    let unknown = write(dir, "unknown.json", &credential.to_string());
    let out = kura(&[
        "vc",
        "issue",
        "--key",
        path(&issuer_key),
        "--credential",
        path(&unknown),
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown JSON-LD context"),
        "{}",
        stderr(&out)
    );
    // A schema violation points at the field.
    let mut credential = person("did:example:alice");
    credential["credentialSubject"]["birthDate"] = json!("April 1st");
    let invalid = write(dir, "invalid.json", &credential.to_string());
    let out = kura(&["schema", "validate", path(&invalid)]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("/credentialSubject/birthDate"),
        "{}",
        stdout(&out)
    );
    // An existing key file is never overwritten.
    let out = kura(&[
        "did",
        "create",
        "--method",
        "key",
        "--out",
        path(&issuer_key),
    ]);
    assert_eq!(code(&out), 2);
}

#[test]
fn every_credential_subcommand_has_help() {
    for args in [
        vec!["did", "--help"],
        vec!["did", "create", "--help"],
        vec!["did", "resolve", "--help"],
        vec!["vc", "--help"],
        vec!["vc", "issue", "--help"],
        vec!["vc", "verify", "--help"],
        vec!["vp", "--help"],
        vec!["vp", "create", "--help"],
        vec!["schema", "--help"],
        vec!["schema", "validate", "--help"],
        vec!["schema", "add", "--help"],
        vec!["schema", "list", "--help"],
        vec!["schema", "show", "--help"],
        vec!["vc", "new", "--help"],
    ] {
        let out = kura(&args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(stdout(&out).contains("Usage"), "{args:?}");
    }
}

/// `kura vc new` → `kura vc issue` → `kura vc verify`, for each of kura's types and generic
/// credentials, in both formats.
#[test]
fn every_template_from_vc_new_issues_and_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (key, _) = create_key(dir.path(), "issuer", "key", "ed25519");
    for credential_type in [
        "PersonIdentityCredential",
        "QualificationCredential",
        "CardBindingCredential",
        "generic",
        "UniversityDegreeCredential",
    ] {
        let out = kura(&[
            "vc",
            "new",
            "--type",
            credential_type,
            "--holder",
            "did:web:alice.example",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let template: Value = serde_json::from_slice(&out.stdout).expect("a JSON template");
        // A CardBindingCredential's subject is the card; the holder is its `holderDid`.
        let holder = if credential_type == "CardBindingCredential" {
            &template["credentialSubject"]["holderDid"]
        } else {
            &template["credentialSubject"]["id"]
        };
        assert_eq!(holder, "did:web:alice.example");
        assert!(template["id"]
            .as_str()
            .unwrap_or("")
            .starts_with("urn:uuid:"));
        let unsigned = write(
            dir.path(),
            &format!("{credential_type}.json"),
            &stdout(&out),
        );
        for format in ["di", "jwt"] {
            let issued = kura(&[
                "vc",
                "issue",
                "--key",
                path(&key),
                "--credential",
                path(&unsigned),
                "--format",
                format,
            ]);
            assert_eq!(
                code(&issued),
                0,
                "{credential_type} {format}: {}",
                stderr(&issued)
            );
            let vc = write(
                dir.path(),
                &format!("{credential_type}.{format}.vc"),
                &stdout(&issued),
            );
            let verified = kura(&["vc", "verify", path(&vc)]);
            let verdict = verdict(&verified);
            assert_eq!(code(&verified), 0, "{credential_type} {format}: {verdict}");
            assert_eq!(verdict["valid"], true);
        }
    }
    let bad = kura(&["vc", "new", "--holder", "alice"]);
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("not a DID"), "{}", stderr(&bad));
}

/// The schema registry through the CLI on a repository's store: an unknown schema is an error
/// in `kura vc verify` and `kura schema validate`; after `kura schema add` both pass, `list`
/// shows its SHA-256, `show` prints it; a draft-07 schema is refused.
#[test]
fn schema_add_makes_a_schema_known_to_verify_and_validate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("repo");
    let init = kura(&[
        "init",
        "--data",
        path(&data),
        "--did",
        "did:web:alice.example",
    ]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    let (key, _) = create_key(dir.path(), "issuer", "key", "ed25519");
    let schema_id = "https://schemas.example/example.json";
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "type": "object",
        "required": ["credentialSubject"],
        "properties": {"credentialSubject": {"required": ["name"]}}
    });
    let schema_file = write(dir.path(), "schema.json", &schema.to_string());

    let out = kura(&["vc", "new", "--holder", "did:web:alice.example"]);
    let mut credential: Value = serde_json::from_slice(&out.stdout).expect("template");
    credential["credentialSchema"] = json!({"id": schema_id, "type": "JsonSchema"});
    let unsigned = write(dir.path(), "generic.json", &credential.to_string());
    let issued = kura(&[
        "vc",
        "issue",
        "--key",
        path(&key),
        "--credential",
        path(&unsigned),
    ]);
    assert_eq!(code(&issued), 0, "{}", stderr(&issued));
    let vc = write(dir.path(), "generic.vc.json", &stdout(&issued));

    let verified = kura(&["vc", "verify", "--data", path(&data), path(&vc)]);
    assert_eq!(code(&verified), 1);
    let errors = verdict(&verified)["errors"].to_string();
    assert!(
        errors.contains(schema_id) && errors.contains("kura schema add FILE"),
        "{errors}"
    );
    let validated = kura(&["schema", "validate", "--data", path(&data), path(&vc)]);
    assert_eq!(code(&validated), 2);
    assert!(
        stderr(&validated).contains(schema_id),
        "{}",
        stderr(&validated)
    );

    let added = kura(&["schema", "add", "--data", path(&data), path(&schema_file)]);
    assert_eq!(code(&added), 0, "{}", stderr(&added));
    let added: Value = serde_json::from_slice(&added.stdout).expect("JSON");
    assert_eq!(added["id"], schema_id);
    let sha256 = added["sha256"].as_str().expect("sha256").to_owned();
    assert_eq!(sha256.len(), 64);

    let verified = kura(&["vc", "verify", "--data", path(&data), path(&vc)]);
    assert_eq!(code(&verified), 0, "{}", stdout(&verified));
    let validated = kura(&["schema", "validate", "--data", path(&data), path(&vc)]);
    assert_eq!(code(&validated), 0, "{}", stderr(&validated));
    let list = kura(&["schema", "list", "--data", path(&data)]);
    assert!(stdout(&list).contains(&sha256), "{}", stdout(&list));
    let show = kura(&["schema", "show", "--data", path(&data), schema_id]);
    let shown: Value = serde_json::from_slice(&show.stdout).expect("JSON");
    assert_eq!(shown, schema);
    let history = kura(&["history", "--data", path(&data)]);
    assert!(
        stdout(&history).contains("schema-added"),
        "{}",
        stdout(&history)
    );

    let mut draft7 = schema.clone();
    draft7["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    draft7["$id"] = json!("https://schemas.example/other.json");
    let draft7 = write(dir.path(), "draft7.json", &draft7.to_string());
    let refused = kura(&["schema", "add", "--data", path(&data), path(&draft7)]);
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("2020-12"), "{}", stderr(&refused));
    no_panic(&refused);
}
