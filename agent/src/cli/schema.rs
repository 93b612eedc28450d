//! `kura schema`: the repository's schema registry (DESIGN P7): add, list, show, and
//! validate a credential by it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{json, Value};
use vc_schemas::registry::SchemaDocument;
use vc_schemas::{DidMethodsResolver, SchemaRegistry};

use super::owner::{send, Repository, Target};

const LONG_HELP: &str = "\
The registry holds kura's own schemas (PersonIdentityCredential, QualificationCredential,
CardBindingCredential) and the ones the owner adds, each pinned by the SHA-256 of its document.
Nothing is fetched: a credential whose credentialSchema names a schema the registry lacks is
refused at the repository (ST82) and by `kura vc verify`. A credential without credentialSchema
passes the schema step, except kura's three types, which must name their schema.

A schema document is a JSON Schema 2020-12 with an `$id` (credentialSchema type JsonSchema), or
a JsonSchemaCredential (W3C VC JSON Schema: a credential whose credentialSubject has
`type: JsonSchema` and the schema in `jsonSchema`; its `id` is the schema id). The proof of a
JsonSchemaCredential is verified when it is added (did:key, did:jwk offline; did:web resolved)
and again, against the key that verified it then, whenever it is used.

How it reaches the repository: with --url, or while kura serve runs (it holds the store),
through the owner's routes GET|POST /v1/admin/schemas and GET /v1/admin/schemas/{id} with the
admin secret from DIR/admin.secret (an added schema is effective at once); otherwise through
the store in DIR/store directly. Without --data (or KURA_DATA), list, show and validate use
kura's own schemas only. Adding writes a schema-added history entry.

Examples:
  kura schema add --data /srv/kura degree-schema.json
  kura schema list --data /srv/kura
  kura schema show QualificationCredential
  kura schema validate --data /srv/kura degree.json

Exit status: 0 success (valid), 1 violations (validate), 2 error (unreadable file, a refused
schema document, an unknown schema).";

/// The schema registry: add JSON Schemas, list and show them, validate credentials.
#[derive(clap::Args, Debug)]
#[command(after_long_help = LONG_HELP)]
pub struct Args {
    #[command(flatten)]
    repository: Repository,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Add a schema document (JSON Schema 2020-12 with `$id`, or a JsonSchemaCredential);
    /// prints its id and SHA-256.
    Add {
        /// The schema document (JSON).
        file: PathBuf,
    },
    /// List the registry's schemas: id, SHA-256, kind, and whether it is kura's own.
    List,
    /// Print one schema document (by id, or a kura type name such as QualificationCredential).
    Show {
        /// A schema id or a kura credential type name.
        name: String,
    },
    /// Validate a credential by the schema(s) its `credentialSchema` names.
    ///
    /// FILE is a credential as JSON (signed or not) or a JWT (its credential is validated; the
    /// signature is not checked here, use `kura vc verify`). Prints a JSON report; each error
    /// gives a JSON pointer to the failing field.
    ///
    /// Exit status: 0 valid, 1 violations, 2 error (unreadable, unknown schema).
    ///
    /// Example: kura schema validate --data /srv/kura licence.json
    Validate {
        /// The credential file.
        file: PathBuf,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Add { file } => add(&args.repository, &file).await,
        Command::List => {
            let registry = load_registry(&args.repository).await?;
            println!("{}", serde_json::to_string_pretty(&registry.list())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { name } => {
            let registry = load_registry(&args.repository).await?;
            let id = vc_schemas::schema::schema_id_for_type(&name).unwrap_or(&name);
            let (_, text) = registry
                .get(id)
                .ok_or_else(|| vc_schemas::Error::UnknownSchema(name.clone()))?;
            println!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { file } => validate(&args.repository, &file).await,
    }
}

async fn add(repository: &Repository, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let answer = match repository.target()? {
        Target::Store(store) => {
            let resolver = DidMethodsResolver::with_defaults(false);
            let added =
                kura_agent::schemas::add(&store, &text, &resolver, std::time::SystemTime::now())
                    .await?;
            store.flush()?;
            serde_json::to_value(added)?
        }
        Target::Server { url, secret } => {
            let request = reqwest::Client::new()
                .post(format!("{url}/v1/admin/schemas"))
                .header("content-type", "application/json")
                .body(text);
            send(request, &secret).await?
        }
    };
    let summary = json!({
        "id": answer["id"],
        "sha256": answer["sha256"],
        "kind": answer["kind"],
        "added": answer["added"],
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

/// The repository's registry (through its store or its running server), or kura's own
/// schemas when no repository is named.
pub async fn load_registry(repository: &Repository) -> anyhow::Result<SchemaRegistry> {
    if !repository.is_named() {
        return Ok(SchemaRegistry::kura());
    }
    match repository.target()? {
        Target::Store(store) => Ok(kura_agent::schemas::registry(&store)?),
        Target::Server { url, secret } => {
            // The server answers each document; a JsonSchemaCredential's proof is verified
            // here again (the pinned key stays in the repository).
            let http = reqwest::Client::new();
            let list = send(http.get(format!("{url}/v1/admin/schemas")), &secret).await?;
            let mut registry = SchemaRegistry::kura();
            let resolver = DidMethodsResolver::with_defaults(false);
            for info in list.as_array().into_iter().flatten() {
                if info["builtin"].as_bool() == Some(true) {
                    continue;
                }
                let id = info["id"].as_str().unwrap_or_default();
                let route = format!(
                    "{url}/v1/admin/schemas/{}",
                    kura_agent::server::encode_segment(id)
                );
                let document: Value = send(http.get(route), &secret).await?;
                let parsed = SchemaDocument::parse(&document.to_string())?;
                let pinned = parsed
                    .verify_proof(&resolver, vc_schemas::shared_jsonld(), chrono::Utc::now())
                    .await?;
                registry.insert(parsed, pinned)?;
            }
            Ok(registry)
        }
    }
}

async fn validate(repository: &Repository, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let credential = vc_schemas::Secured::parse(&text)?.unverified_document()?;
    let registry = load_registry(repository).await?;
    match registry
        .validate_credential(&credential, vc_schemas::shared_jsonld(), chrono::Utc::now())
        .await
    {
        Ok(report) => {
            let answer = json!({"valid": true, "schemas": report.checked});
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(vc_schemas::Error::SchemaViolations(violations)) => {
            let report = json!({"valid": false, "errors": violations});
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}
