//! `kura demo`: an end-to-end identity walk through, on embedded defaults.
//!
//! It plays three parties on this machine, and everything it makes is written to a directory
//! the user can inspect afterwards:
//! 1. an **issuer** with a did:key (Ed25519) issues a `QualificationCredential`, validated
//!    against kura's JSON Schema, as Data Integrity (`eddsa-rdfc-2022`) and as a VC-JWT;
//! 2. the **holder** has a did:web whose DID document (built with `did-methods`) is served over
//!    real HTTP on 127.0.0.1; the holder presents the credential to a verifier's `challenge`
//!    and `domain`, in both formats;
//! 3. a **verifier** resolves both DIDs (did:web over loopback HTTP, allowed explicitly) and
//!    verifies each presentation, then shows that a wrong challenge and a tampered credential
//!    are refused.
//!
//! The card-gated repository flows (patent FIG. 7–9) join this demo when they are built.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use chrono::Utc;
use serde_json::{json, Value};
use vc_schemas::{
    create_presentation, issue_credential, schema, shared_jsonld, verify, Algorithm,
    DidMethodsResolver, LocalKey, ProofFormat, Secured, Signer as _, VerifyOptions,
};

/// Run an end-to-end identity demo: issue, present and verify credentials.
///
/// Creates an issuer (did:key) and a holder (did:web served on 127.0.0.1), issues a
/// QualificationCredential in both proof formats, presents it to a verifier's challenge and
/// domain, verifies everything, and shows two refusals. Needs no network and no card.
#[derive(clap::Args)]
pub struct Args {
    /// Where to write the keys, credentials and presentations (default: a new directory
    /// under the system's temporary directory). Key files are written with mode 0600.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("kura-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    println!("kura demo: writing everything to {}", dir.display());

    let mut rng = rand_core::OsRng;
    let now = Utc::now();
    let jsonld = shared_jsonld();

    // The issuer: a did:key, resolvable with no I/O.
    let issuer = LocalKey::generate(Algorithm::Ed25519, &mut rng);
    vc_schemas::write_key_file(&dir.join("issuer.key.json"), &issuer)?;
    println!("1. issuer      {}", issuer.did());

    // The holder: a did:web served on loopback (port encoded as %3A, DID Web §3.2).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let holder_did = format!("did:web:127.0.0.1%3A{}:holder", address.port());
    let holder = LocalKey::generate(Algorithm::Ed25519, &mut rng)
        .with_verification_method(format!("{holder_did}#key-1"));
    vc_schemas::write_key_file(&dir.join("holder.key.json"), &holder)?;
    let document = holder_document(&holder_did, &holder)?;
    write_json(&dir.join("holder.did.json"), &document)?;
    let server = tokio::spawn(serve_did_document(listener, document));
    println!("2. holder      {holder_did}");
    println!("               DID document at http://{address}/holder/did.json");

    // The credential, checked against kura's QualificationCredential schema before signing.
    let credential = qualification_credential(issuer.did(), &holder_did);
    let schema_errors = schema::schemas().validate_credential(&credential);
    if let Err(error) = schema_errors {
        bail!("the demo credential does not match its schema: {error}");
    }
    println!(
        "3. schema      QualificationCredential validates against {}",
        schema::QUALIFICATION
    );

    let resolver = DidMethodsResolver::with_defaults(true);
    let (challenge, domain) = ("kura-demo-challenge-0001", "verifier.example");
    let mut all_valid = true;
    for (format, name) in [
        (ProofFormat::DataIntegrity, "di"),
        (ProofFormat::Jwt, "jwt"),
    ] {
        let vc = issue_credential(credential.clone(), &issuer, format, now, jsonld).await?;
        save(&dir, &format!("credential.{name}"), &vc)?;
        let vp = create_presentation(
            &[vc.to_input()],
            &holder,
            challenge,
            domain,
            format,
            now,
            jsonld,
        )
        .await?;
        save(&dir, &format!("presentation.{name}"), &vp)?;

        let options = VerifyOptions {
            challenge: Some(challenge.to_owned()),
            domain: Some(domain.to_owned()),
            ..VerifyOptions::at(Utc::now())
        };
        let verdict = verify(&vp.to_text(), &resolver, &options).await?;
        all_valid &= verdict.valid;
        println!(
            "4. verify {:<4} presentation by {} → {}",
            name,
            verdict.signer.as_deref().unwrap_or("?"),
            if verdict.valid { "valid" } else { "INVALID" }
        );
        for line in verdict.checks.iter().chain(verdict.errors.iter()) {
            println!("               {line}");
        }

        // A verifier with another challenge must refuse (replay to another verifier).
        let replayed = VerifyOptions {
            challenge: Some("another-challenge".into()),
            ..options.clone()
        };
        let refused = verify(&vp.to_text(), &resolver, &replayed).await?;
        all_valid &= !refused.valid;
        println!(
            "5. replay {:<4} to another challenge → {}",
            name,
            if refused.valid {
                "ACCEPTED (bug)"
            } else {
                "refused"
            }
        );
    }

    // Tampering with a signed credential breaks its proof.
    let signed = issue_credential(
        credential.clone(),
        &issuer,
        ProofFormat::DataIntegrity,
        now,
        jsonld,
    )
    .await?;
    let mut tampered = match signed {
        Secured::Json(value) => value,
        Secured::Jwt(_) => bail!("a Data Integrity credential is JSON"),
    };
    tampered["credentialSubject"]["qualification"]["licenseNumber"] = json!("999999");
    let verdict = verify(
        &tampered.to_string(),
        &resolver,
        &VerifyOptions::at(Utc::now()),
    )
    .await?;
    all_valid &= !verdict.valid;
    println!(
        "6. tampered credential (licence number changed) → {}",
        if verdict.valid {
            "ACCEPTED (bug)"
        } else {
            "refused"
        }
    );

    server.abort();
    if all_valid {
        println!(
            "kura demo: every check behaved as expected. Inspect the files in {}",
            dir.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("kura demo: some check did not behave as expected (see above)");
        Ok(ExitCode::from(1))
    }
}

/// The holder's DID document: one Ed25519 Multikey for authentication and assertion, and a
/// service entry pointing at the (future) repository endpoint.
fn holder_document(holder_did: &str, holder: &LocalKey) -> anyhow::Result<Value> {
    let did: did_methods::Did = holder_did.parse()?;
    let key = did_methods::PublicKey::from_multibase(&holder.public_key().to_multibase())?;
    let document = did_methods::DocumentBuilder::new(did)
        .verification_method("key-1", key)
        .authentication("key-1")
        .assertion_method("key-1")
        .build()?;
    Ok(serde_json::to_value(&document)?)
}

fn qualification_credential(issuer_did: &str, holder_did: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", vc_schemas::jsonld::KURA_CONTEXT_V1],
        "type": ["VerifiableCredential", "QualificationCredential"],
        "issuer": issuer_did,
        "credentialSubject": {
            "id": holder_did,
            "qualification": {
                "type": "ProfessionalLicense",
                "qualificationName": "Registered Nurse",
                "licenseNumber": "RN-2026-004217",
                "issuingAuthority": "Ministry of Health, Labour and Welfare",
                "jurisdiction": "JP"
            }
        },
        "credentialSchema": { "id": schema::QUALIFICATION, "type": "JsonSchema" }
    })
}

/// Serves one DID document at `/holder/did.json` until the task is aborted.
async fn serve_did_document(listener: tokio::net::TcpListener, document: Value) {
    use warp::Filter as _;
    let route = warp::path!("holder" / "did.json")
        .and(warp::get())
        .map(move || warp::reply::json(&document));
    warp::serve(route).incoming(listener).run().await;
}

fn save(dir: &Path, stem: &str, secured: &Secured) -> anyhow::Result<()> {
    let path = match secured {
        Secured::Json(_) => dir.join(format!("{stem}.json")),
        Secured::Jwt(_) => dir.join(format!("{stem}.jwt")),
    };
    std::fs::write(&path, secured.to_text())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("cannot write {}", path.display()))
}
