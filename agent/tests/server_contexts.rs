//! Owner-added JSON-LD contexts over real HTTP (issue 12 item 3): a credential naming a
//! context the repository does not serve is refused at ST82 with the URL and the fix, nothing
//! stored; the owner adds the context through `PUT /v1/admin/contexts/{url}` and the same write
//! then succeeds, without a restart.

// Test helpers outside #[test] functions: a failed setup should stop the test loudly.
#![allow(clippy::unwrap_used)]

mod server_common;

use serde_json::{json, Value};
use server_common::{licence, loopback, start, terminal_key, Answer, Repo};

const URL: &str = "https://licences.example/contexts/extra/v1";
const DOCUMENT: &str = r#"{"@context": {"@protected": true, "endorsement": "https://licences.example/vocab#endorsement"}}"#;

async fn put_context(repo: &Repo, url: &str, body: &str, admin: Option<&str>) -> Answer {
    let mut request = repo
        .http
        .put(format!(
            "{}/v1/admin/contexts/{}",
            repo.base,
            kura_agent::server::encode_segment(url)
        ))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(admin) = admin {
        request = request.bearer_auth(admin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Answer { status, body }
}

async fn write(repo: &mut Repo, session: &str, id: &str, credential: &Value) -> Answer {
    repo.write_credential(session, id, credential.clone()).await
}

#[tokio::test]
async fn an_unknown_context_is_refused_at_st82_until_the_owner_adds_it() {
    let mut repo = start(loopback()).await;
    let terminal = terminal_key();
    let (session, _) = repo.ready(&terminal).await;
    let holder = repo.did.clone();

    // The terminal knows the context; the repository does not yet.
    let terminal_jsonld = vc_schemas::JsonLd::new();
    terminal_jsonld.add_context(URL, DOCUMENT).await.unwrap();
    let mut credential = licence("urn:ctx:1", &holder);
    credential["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!(URL));
    let signed: Value = vc_schemas::issue_credential(
        credential,
        &terminal,
        vc_schemas::ProofFormat::DataIntegrity,
        chrono::Utc::now(),
        &terminal_jsonld,
    )
    .await
    .unwrap()
    .into();

    let refused = write(&mut repo, &session, "urn:ctx:1", &signed).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.body["step"], "ST82");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(URL) && detail.contains(&format!("kura context add {URL} FILE")),
        "{detail}"
    );
    assert_eq!(repo.store.credential_count(), 0);
    assert!(repo.history_kinds().contains(&"refusal:refused".to_owned()));

    // The owner's route: the admin secret first, then the document's checks.
    let admin = repo.admin.clone();
    assert_eq!(put_context(&repo, URL, DOCUMENT, None).await.status, 401);
    let bad = put_context(&repo, URL, r#"{"no": "context"}"#, Some(&admin)).await;
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(bad.body["detail"]
        .as_str()
        .unwrap()
        .contains("`@context` member"));
    let bundled = put_context(
        &repo,
        "https://www.w3.org/ns/credentials/v2",
        DOCUMENT,
        Some(&admin),
    )
    .await;
    assert_eq!(bundled.status, 422, "{bundled:?}");
    assert!(bundled.body["detail"]
        .as_str()
        .unwrap()
        .contains("cannot be replaced"));
    assert!(repo.store.contexts().unwrap().is_empty());

    let added = put_context(&repo, URL, DOCUMENT, Some(&admin)).await;
    assert_eq!(added.status, 201, "{added:?}");
    let sha256 = vc_schemas::jsonld::bundled::sha256_hex(DOCUMENT.as_bytes());
    assert_eq!(added.body["sha256"], sha256.as_str());
    assert_eq!(added.body["added"], true);
    assert!(repo
        .history_kinds()
        .contains(&"context-added:success".to_owned()));
    let again = put_context(&repo, URL, DOCUMENT, Some(&admin)).await;
    assert_eq!((again.status, &again.body["added"]), (200, &json!(false)));
    let changed = put_context(
        &repo,
        URL,
        &DOCUMENT.replace("endorsement\"", "other\""),
        Some(&admin),
    )
    .await;
    assert_eq!(changed.status, 422, "{changed:?}");
    assert!(changed.body["detail"]
        .as_str()
        .unwrap()
        .contains("cannot be changed"));

    let list = repo.admin_get("/v1/admin/contexts").await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["url"] == URL && c["origin"] == "added" && c["sha256"] == sha256.as_str()));
    assert!(list.as_array().unwrap().iter().any(|c| c["url"]
        == "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        && c["origin"] == "bundled"));
    let shown = repo
        .admin_get(&format!(
            "/v1/admin/contexts/{}",
            kura_agent::server::encode_segment(URL)
        ))
        .await;
    assert_eq!(shown["document"], DOCUMENT);

    // Served at once: the same credential is now written.
    let stored = write(&mut repo, &session, "urn:ctx:1", &signed).await;
    assert_eq!(stored.status, 201, "{stored:?}");
    assert_eq!(repo.store.credential_count(), 1);

    // What `kura serve` loads at start: the stored context, pinned.
    let records = repo.store.contexts().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].document, DOCUMENT);
    let reloaded = kura_agent::server::jsonld_with_stored_contexts(&repo.store);
    assert_eq!(reloaded.context(URL).unwrap().0.sha256, sha256);
}
