//! `kura vc`: issue a credential, verify a credential or presentation.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use vc_schemas::{DidMethodsResolver, ProofFormat, VerifyOptions};

/// Issue and verify W3C Verifiable Credentials (VC Data Model 2.0).
///
/// A credential is a JSON document of claims about a subject, signed by its issuer. kura
/// signs either with an embedded Data Integrity proof (`--format di`: eddsa-rdfc-2022 for
/// Ed25519 keys, ecdsa-rdfc-2019 for P-256) or as a JWT (`--format jwt`: EdDSA or ES256).
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Sign a credential with a key file; print the secured credential.
    ///
    /// FILE is an unsigned credential (JSON). `issuer` becomes the key's DID and
    /// `validFrom` the current time when they are absent; a different `issuer` is refused.
    /// If `credentialSchema` names a kura schema the credential must match it. Every
    /// `@context` must be bundled (docs/contexts.md) or given with `--context URL=FILE`; a term
    /// no context defines is named, with the fix.
    ///
    /// Example: kura vc issue --key issuer.key --credential licence.json --format di > licence.vc.json
    Issue(IssueArgs),
    /// Verify a credential or a presentation and print a JSON verdict.
    ///
    /// Accepts either format (a JSON document with a Data Integrity proof, or a compact
    /// JWT) from any issuer whose DID resolves (did:key, did:jwk, did:web). Checks the
    /// proof, that the signing key belongs to the issuer (holder for a presentation), the
    /// validity period, the kura schema named in `credentialSchema`, and for a
    /// presentation its challenge and domain and every credential inside it.
    ///
    /// Exit status: 0 valid, 1 not valid (the verdict says why), 2 error (unreadable
    /// file, not a credential at all).
    ///
    /// Example: kura vc verify presentation.json --challenge 4f1c… --domain verifier.example
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct IssueArgs {
    /// Key file written by `kura did create`.
    #[arg(long)]
    key: PathBuf,
    /// The unsigned credential (JSON).
    #[arg(long)]
    credential: PathBuf,
    /// Proof format: `di` (Data Integrity, JSON output) or `jwt` (compact JWT output).
    #[arg(long, value_enum, default_value_t = ProofFormat::DataIntegrity)]
    format: ProofFormat,
    /// A JSON-LD context that kura does not bundle, for this run: `URL=FILE` (repeatable; see
    /// `kura context --help`). Nothing is ever fetched.
    #[arg(long = "context", value_name = "URL=FILE")]
    contexts: Vec<String>,
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The credential or presentation: JSON, or a compact JWT.
    file: PathBuf,
    /// The challenge this verifier gave the holder (required for presentations).
    #[arg(long)]
    challenge: Option<String>,
    /// This verifier's domain (required for presentations).
    #[arg(long)]
    domain: Option<String>,
    /// Allow plain http:// did:web documents (loopback testing only).
    #[arg(long)]
    allow_http: bool,
    /// A JSON-LD context that kura does not bundle, for this run: `URL=FILE` (repeatable; see
    /// `kura context --help`). Nothing is ever fetched.
    #[arg(long = "context", value_name = "URL=FILE")]
    contexts: Vec<String>,
}

/// The bundled contexts plus each `URL=FILE` given, checked as `kura context add` checks them.
async fn jsonld_with(contexts: &[String]) -> anyhow::Result<vc_schemas::JsonLd> {
    let jsonld = vc_schemas::JsonLd::new();
    for pair in contexts {
        let (url, file) = pair
            .split_once('=')
            .with_context(|| format!("--context {pair:?}: expected URL=FILE"))?;
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        jsonld.add_context(url, &text).await?;
    }
    Ok(jsonld)
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Issue(args) => issue(args).await,
        Command::Verify(args) => verify(args).await,
    }
}

async fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let key = vc_schemas::read_key_file(&args.key)?;
    let text = std::fs::read_to_string(&args.credential)
        .with_context(|| format!("cannot read {}", args.credential.display()))?;
    let credential: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.credential.display()))?;
    let jsonld = jsonld_with(&args.contexts).await?;
    let secured =
        vc_schemas::issue_credential(credential, &key, args.format, chrono::Utc::now(), &jsonld)
            .await?;
    println!("{}", secured.to_text());
    Ok(ExitCode::SUCCESS)
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let resolver = DidMethodsResolver::with_defaults(args.allow_http);
    let options = VerifyOptions {
        challenge: args.challenge,
        domain: args.domain,
        now: chrono::Utc::now(),
    };
    let jsonld = jsonld_with(&args.contexts).await?;
    let verdict = vc_schemas::Verifier {
        resolver: &resolver,
        jsonld: &jsonld,
    }
    .verify(&vc_schemas::Secured::parse(&text)?, &options)
    .await?;
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
