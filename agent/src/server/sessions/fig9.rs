//! FIG. 9: the token-gated write. The terminal announces it (ST71–74), gets the token from
//! the card (ST75–77), and hands in the token with the credential it signed (ST78–80), which
//! is checked and stored (ST81–83).

use super::*;

/// `POST /v1/sessions/{id}/write` (ST71–74). The session comes first, as for a read.
pub async fn write(state: &Arc<AppState>, id: &str, body: &[u8]) -> Reply {
    let request: WriteRequest = parse_json(body)?;
    let credential_id = request.credential_id;
    if credential_id.is_empty() || credential_id.len() > 1024 || credential_id.contains('\0') {
        return Err(ApiError::bad_request("credential_id must be 1 to 1024 characters").at("ST71"));
    }
    // URL parsers (WHATWG URL §4.1) rewrite `.` and `..` path segments, even percent-encoded,
    // so the owner's routes could never name such an id; neither is a URL (VC DM 2.0 §4.4).
    if credential_id == "." || credential_id == ".." {
        return Err(ApiError::bad_request("credential_id must not be `.` or `..`").at("ST71"));
    }
    let store = &state.repository.store;
    let next = with_session(state, id, async |session| {
        let operation = Operation::Write {
            request: RequestDigest::of(credential_id.as_bytes()),
        };
        if session.card_key().is_none() {
            return Err(not_ready(session, "write", "ST71"));
        }
        if store.get_credential(&credential_id)?.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "exists",
                format!("credential {credential_id} already exists"),
            )
            .at("ST72"));
        }
        let token = issue_token(state, session, operation)?;
        let relay = session.request_write(&token, operation, credential_id.clone())?;
        Ok(relay_next(relay))
    })
    .await?;
    json_response(StatusCode::OK, &next)
}

/// `POST /v1/sessions/{id}/credentials` (ST79–83).
pub async fn credentials(state: &Arc<AppState>, id: &str, body: &[u8]) -> Reply {
    let request: WriteSubmission = parse_json(body)?;
    let token = parse_token(&request.token, "ST79")?;
    let store = &state.repository.store;
    let result = with_session(state, id, async |session| {
        let (operation, credential_id) = session.write_operation()?;
        let (operation, credential_id) = (*operation, credential_id.to_owned());
        // ST80.
        redeem(state, session, &token, &operation, "ST80").await?;
        // ST82: proof, data model, issuer, subject, id, schema. A refusal is logged (ST81) and the session
        // is ready for another request; nothing is stored.
        let checked = check_credential(state, session, &request.credential, &credential_id).await;
        let outcome = match checked {
            Ok(record) => {
                let mut event = terminal_event(state, session, EventKind::Write, Outcome::Success)
                    .with_credentials([credential_id.clone()]);
                if record.issuer != session.terminal_did() {
                    event = event.with_reason(format!("imported: issued by {}", record.issuer));
                }
                // ST81 and ST83 in one transaction, on disk before the answer.
                let stored = match store.put_credential_with_history_lazy(&record, &event) {
                    Ok(entry) => store.durable().await.map(|()| entry),
                    Err(error) => Err(error),
                };
                match stored {
                    Ok(entry) => Ok(WriteResult {
                        id: credential_id.clone(),
                        history_seq: entry.seq,
                    }),
                    Err(error) => Err(ApiError::from(error).at("ST83")),
                }
            }
            Err(error) => {
                log(
                    state,
                    terminal_event(state, session, EventKind::Refusal, Outcome::Refused)
                        .with_credentials([credential_id.clone()])
                        .with_reason(format!("ST82: {}", error.detail)),
                )
                .await?;
                Err(error)
            }
        };
        session.finish_write()?;
        outcome
    })
    .await?;
    json_response(StatusCode::CREATED, &result)
}

/// ST82's resolver: the issuer must be the session's terminal, so only the terminal's own keys
/// are resolved. A credential naming another DID's key is refused without a lookup, so a
/// terminal cannot make the repository resolve (and report on) DIDs of its choosing.
struct TerminalKeys<'a> {
    resolver: &'a vc_schemas::DidMethodsResolver,
    terminal: &'a str,
}

#[async_trait::async_trait]
impl vc_schemas::KeyResolver for TerminalKeys<'_> {
    async fn resolve_key(
        &self,
        verification_method: &str,
        purpose: ProofPurpose,
    ) -> Result<did_methods::PublicKey, vc_schemas::Error> {
        let url = did_methods::DidUrl::parse_verification_method(verification_method)?;
        let controller = url.did();
        if controller.as_str() != self.terminal {
            return Err(vc_schemas::Error::Resolution(format!(
                "signed by {controller}, not by this session's terminal {}: at ST82 only the \
                 session terminal's keys are resolved",
                self.terminal
            )));
        }
        self.resolver
            .resolve_key(verification_method, purpose)
            .await
    }
}

/// Whether this write imports a credential another issuer signed (issue 12 item 4): its
/// issuer is not the session's terminal. Only a terminal the owner authorised as the holder's
/// own may do that (DESIGN P6); any other is refused here, before a DID of the terminal's
/// choosing is resolved.
fn is_import(state: &AppState, terminal: &str, credential: &Secured) -> Result<bool, ApiError> {
    let document = credential
        .unverified_document()
        .map_err(|error| ApiError::unprocessable(format!("credential: {error}")).at("ST82"))?;
    let issuer = vc_schemas::model::id_of(document.get("issuer"));
    if issuer.is_none() || issuer == Some(terminal) {
        return Ok(false);
    }
    if state.repository.store.own_terminal(terminal)?.is_some() {
        return Ok(true);
    }
    Err(ApiError::forbidden(format!(
        "issued by {}, not by this session's terminal {terminal}: only a terminal the owner \
         authorised as the holder's own may write a credential another issuer signed \
         (kura terminals authorise {terminal})",
        issuer.unwrap_or_default()
    ))
    .at("ST82"))
}

async fn check_credential(
    state: &AppState,
    session: &Session,
    credential: &Secured,
    credential_id: &str,
) -> Result<CredentialRecord, ApiError> {
    let refuse = |detail: String| ApiError::unprocessable(detail).at("ST82");
    // What is checked and stored is the signed content: an envelope's JWT, never the outer
    // object around it (VC-JOSE-COSE §3.2; DESIGN P7).
    let credential = &credential
        .clone()
        .into_signed()
        .map_err(|error| refuse(format!("credential: {error}")))?;
    let terminal = session.terminal_did();
    let import = is_import(state, terminal, credential)?;
    let terminal_keys = TerminalKeys {
        resolver: &state.resolver,
        terminal,
    };
    // An import is verified with the issuer's own keys, whatever its DID method; any other
    // write only with the session terminal's.
    let resolver: &dyn vc_schemas::KeyResolver = if import {
        &state.resolver
    } else {
        &terminal_keys
    };
    let schemas = state.schema_registry()?;
    let verdict = vc_schemas::Verifier {
        resolver,
        jsonld: &state.jsonld,
        schemas: &schemas,
    }
    .verify(credential, &VerifyOptions::at(now(state).into()))
    .await
    .map_err(|error| refuse(format!("credential: {error}")))?;
    if !verdict.valid {
        return Err(refuse(format!(
            "the credential does not verify: {}",
            verdict.errors.join("; ")
        )));
    }
    if verdict.kind != Some(vc_schemas::model::Kind::Credential) {
        return Err(refuse("not a verifiable credential".into()));
    }
    if !import && verdict.signer.as_deref() != Some(terminal) {
        return Err(refuse(format!(
            "issued by {}, not by this session's terminal {terminal}",
            verdict.signer.as_deref().unwrap_or("nobody"),
        )));
    }
    let document = credential
        .unverified_document()
        .map_err(|error| refuse(format!("credential: {error}")))?;
    // A terminal gives what it issues the announced id; an imported credential keeps what its
    // issuer signed, and one without an `id` is stored under the announced one.
    match vc_schemas::model::id_of(document.get("id")) {
        Some(id) if id == credential_id => {}
        None if import => {}
        _ => {
            return Err(refuse(format!(
                "the credential's id is not {credential_id}, the id announced at ST71"
            )))
        }
    }
    let holder = &state.repository.config.did;
    let subjects: Vec<&Value> = match document.get("credentialSubject") {
        Some(Value::Array(subjects)) => subjects.iter().collect(),
        Some(subject) => vec![subject],
        None => vec![],
    };
    if subjects.is_empty()
        || subjects
            .iter()
            .any(|subject| vc_schemas::model::id_of(subject.get("id")) != Some(holder.as_str()))
    {
        return Err(refuse(format!(
            "the credential's subject is not the holder {holder}"
        )));
    }
    // The schemas its credentialSchema names were checked by the verifier, through the
    // repository's registry (DESIGN P7): a schema the registry lacks made the verdict invalid.
    CredentialRecord::new(credential_id, credential, now(state))
        .map_err(|error| refuse(error.to_string()))
}
