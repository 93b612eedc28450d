//! The schema registry at ST82 and through the owner's routes (DESIGN P7), over real HTTP on
//! 127.0.0.1: a foreign credential without a schema is stored; a schema violation, an unknown
//! schema and a kura type without its schema are refused with nothing stored; a schema added
//! through `POST /v1/admin/schemas` is effective at once and recorded in the history.

#![allow(clippy::unwrap_used)]

mod server_common;

use serde_json::{json, Value};
use server_common::{issue, licence, loopback, start, terminal_key, Repo};

const DEGREE_SCHEMA: &str = "https://schemas.example/degree.json";

/// A degree credential (W3C examples context) about `holder`, naming `schema` if given.
fn degree(id: &str, holder: &str, schema: Option<&str>) -> Value {
    let mut credential = vc_schemas::templates::template("ExampleDegreeCredential", holder, id);
    credential["credentialSubject"]["degree"] =
        json!({"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"});
    if let Some(schema) = schema {
        credential["credentialSchema"] = json!({"id": schema, "type": "JsonSchema"});
    }
    credential
}

fn degree_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": DEGREE_SCHEMA,
        "type": "object",
        "required": ["credentialSubject"],
        "properties": {"credentialSubject": {"required": ["degree"]}}
    })
}

/// Writes `credential` under `id` in a fresh FIG. 9 run of `session`.
async fn write(
    repo: &mut Repo,
    session: &str,
    id: &str,
    credential: Value,
) -> server_common::Answer {
    repo.write_credential(session, id, credential).await
}

async fn add_schema(repo: &Repo, document: &Value, secret: &str) -> (u16, Value) {
    let response = repo
        .http
        .post(format!("{}/v1/admin/schemas", repo.base))
        .bearer_auth(secret)
        .header("content-type", "application/json")
        .body(document.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn st82_applies_the_registry_and_refusals_store_nothing() {
    let mut repo = start(loopback()).await;
    let terminal = terminal_key();
    let (session, _) = repo.ready(&terminal).await;
    let holder = repo.did.clone();

    // A foreign type without credentialSchema passes the schema step.
    let plain = issue(degree("urn:degree:1", &holder, None), &terminal, false).await;
    let stored = write(&mut repo, &session, "urn:degree:1", plain).await;
    assert_eq!(stored.status, 201, "{stored:?}");
    assert_eq!(repo.store.credential_count(), 1);

    // A schema the registry lacks: refused, the problem names it and the fix.
    let unknown = issue(
        degree("urn:degree:2", &holder, Some(DEGREE_SCHEMA)),
        &terminal,
        true,
    )
    .await;
    let refused = write(&mut repo, &session, "urn:degree:2", unknown.clone()).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.body["step"], "ST82");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains(DEGREE_SCHEMA), "{detail}");
    assert!(detail.contains("kura schema add FILE"), "{detail}");

    // A kura type without its schema: refused.
    let mut bare = licence("urn:licence:1", &holder);
    bare.as_object_mut().unwrap().remove("credentialSchema");
    let bare = issue(bare, &terminal, false).await;
    let refused = write(&mut repo, &session, "urn:licence:1", bare).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains(vc_schemas::schema::QUALIFICATION),
        "{refused:?}"
    );
    assert_eq!(repo.store.credential_count(), 1);

    // The owner adds the schema: the same credential is now accepted, without a restart.
    let admin = repo.admin.clone();
    let (status, added) = add_schema(&repo, &degree_schema(), &admin).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["id"], DEGREE_SCHEMA);
    assert_eq!(added["added"], true);
    let stored = write(&mut repo, &session, "urn:degree:2", unknown).await;
    assert_eq!(stored.status, 201, "{stored:?}");

    // A schema violation: refused, nothing stored.
    let mut violating = degree("urn:degree:3", &holder, Some(DEGREE_SCHEMA));
    violating["credentialSubject"]
        .as_object_mut()
        .unwrap()
        .remove("degree");
    let violating = issue(violating, &terminal, false).await;
    let refused = write(&mut repo, &session, "urn:degree:3", violating).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("/credentialSubject"),
        "{refused:?}"
    );
    assert_eq!(repo.store.credential_count(), 2);
    assert!(repo.store.get_credential("urn:degree:3").unwrap().is_none());
    repo.store.verify_chain().unwrap();
}

#[tokio::test]
async fn the_owner_route_adds_lists_shows_and_refuses() {
    let repo = start(loopback()).await;
    let admin = repo.admin.clone();

    // Without the admin secret: nothing.
    let (status, _) = add_schema(&repo, &degree_schema(), "wrong").await;
    assert_eq!(status, 401);

    let (status, added) = add_schema(&repo, &degree_schema(), &admin).await;
    assert_eq!(status, 201, "{added}");
    let sha256 = added["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha256.len(), 64);
    // The same document again: 200, nothing new.
    let (status, again) = add_schema(&repo, &degree_schema(), &admin).await;
    assert_eq!((status, again["added"].clone()), (200, json!(false)));

    let list = repo.admin_get("/v1/admin/schemas").await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|info| info["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{list}");
    assert!(ids.contains(&DEGREE_SCHEMA));
    let shown = repo
        .admin_get(&format!(
            "/v1/admin/schemas/{}",
            kura_agent::server::encode_segment(DEGREE_SCHEMA)
        ))
        .await;
    assert_eq!(shown, degree_schema());

    // Refused documents: another draft, no $id, another document under the same id, a kura id.
    let mut draft7 = degree_schema();
    draft7["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    let mut no_id = degree_schema();
    no_id.as_object_mut().unwrap().remove("$id");
    let mut changed = degree_schema();
    changed["title"] = json!("changed");
    let mut kura = degree_schema();
    kura["$id"] = json!(vc_schemas::schema::PERSON_IDENTITY);
    for (document, why) in [
        (draft7, "2020-12"),
        (no_id, "$id"),
        (changed, "another document"),
        (kura, "kura's own"),
    ] {
        let (status, problem) = add_schema(&repo, &document, &admin).await;
        assert_eq!(status, 422, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "expected {why:?} in {problem}"
        );
    }
    assert_eq!(repo.store.schemas().unwrap().len(), 1);
    let added_entries: Vec<String> = repo
        .store
        .history(1, 10_000)
        .unwrap()
        .into_iter()
        .filter(|entry| entry.event.kind.as_str() == "schema-added")
        .map(|entry| entry.event.reason)
        .collect();
    assert_eq!(
        added_entries,
        vec![format!("{DEGREE_SCHEMA} sha256:{sha256}")]
    );
    repo.store.verify_chain().unwrap();
}
