//! A fake repository on 127.0.0.1:0 for the flow tests: it drives the in-process card through
//! the terminal with the real host commands and Noise channel, serves the holder's did:web
//! document (with the card key once generated), and misbehaves on request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use did_methods::{Did, DocumentBuilder};
use rand_core::OsRng;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use vc_schemas::{Algorithm, LocalKey, PendingPresentation, ProofFormat, Secured, Signer as _};
use warp::http::StatusCode;
use warp::{Filter as _, Reply as _};

use crate::card::{FingerSample, InProcessCard};
use crate::channel::{self, ChannelPublicKey, ChannelSecretKey, SecureChannel, SeededRng};
use crate::host::{self, GeneratedKey};
use crate::terminal::api;
use crate::transport::InProcessTransport;

/// How the fake repository misbehaves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    Honest,
    /// Binds the presentation to another challenge than the terminal's.
    WrongChallenge,
    /// Refuses the terminal's signature (ST41).
    RefuseAuth,
    /// Claims to be another holder's repository.
    WrongHolder,
}

// Boxing the channel states would buy nothing in a test fake that holds one phase.
#[allow(clippy::large_enum_variant)]
enum Phase {
    ExpectAuth,
    ExpectHandshake(channel::ExpectHandshakeResponse),
    ExpectKeyPair(SecureChannel),
    ExpectRequest(SecureChannel),
    ExpectSignature(SecureChannel, PendingPresentation),
    ExpectReadToken(SecureChannel, Secured),
    ExpectTokenLoaded(SecureChannel, String),
    ExpectCredential(SecureChannel, String),
    Broken,
}

pub(super) struct Fake {
    pub(super) terminal: String,
    pub(super) holder: String,
    pub(super) endpoint: String,
    pub(super) secret: ChannelSecretKey,
    pub(super) card_channel: ChannelPublicKey,
    pub(super) behaviour: Behaviour,
    pub(super) credential: Value,
    pub(super) requests: AtomicUsize,
    pub(super) state: Mutex<FakeState>,
}

pub(super) struct FakeState {
    phase: Phase,
    card_key: Option<GeneratedKey>,
    token: [u8; 32],
    pub(super) stored: Vec<Value>,
    pub(super) closed: bool,
}

type Answer = Result<(StatusCode, Value), (StatusCode, String, &'static str)>;

fn relay(step: &str, apdu: Vec<u8>) -> Answer {
    Ok((
        StatusCode::OK,
        json!({"next": "relay", "step": step, "apdu": hex::encode(apdu)}),
    ))
}

fn bad(step: &'static str, detail: impl std::fmt::Display) -> (StatusCode, String, &'static str) {
    (StatusCode::BAD_REQUEST, detail.to_string(), step)
}

impl Fake {
    fn key_id(&self, key: &GeneratedKey) -> String {
        format!("{}#card-{}", self.holder, hex::encode(key.key_id))
    }

    fn document(&self, card_key: Option<&GeneratedKey>) -> Value {
        let did = Did::parse(&self.holder).unwrap();
        let mut builder =
            DocumentBuilder::new(did).service("repository", api::SERVICE_TYPE, &self.endpoint);
        if let Some(key) = card_key {
            let fragment = format!("card-{}", hex::encode(key.key_id));
            let bytes = <[u8; 32]>::try_from(key.public_key.as_slice()).unwrap();
            builder = builder
                .verification_method(&fragment, did_methods::PublicKey::Ed25519(bytes))
                .authentication(&fragment)
                .assertion_method(&fragment);
        }
        builder.build().unwrap().to_json_value()
    }

    async fn handle(&self, method: &str, path: &str, body: &[u8]) -> Answer {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut state = self.state.lock().await;
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        match (method, path) {
            ("GET", "/.well-known/did.json") => {
                Ok((StatusCode::OK, self.document(state.card_key.as_ref())))
            }
            ("POST", "/v1/sessions") => {
                let holder = if self.behaviour == Behaviour::WrongHolder {
                    "did:web:elsewhere.example".to_owned()
                } else {
                    self.holder.clone()
                };
                let opened = json!({"session": "s1", "nonce": "bm9uY2U", "holder": holder});
                Ok((StatusCode::CREATED, opened))
            }
            ("DELETE", "/v1/sessions/s1") => {
                state.closed = true;
                Ok((StatusCode::NO_CONTENT, Value::Null))
            }
            ("POST", path) => {
                let leaf = path.strip_prefix("/v1/sessions/s1/").unwrap_or("?");
                let phase = std::mem::replace(&mut state.phase, Phase::Broken);
                self.step(&mut state, phase, leaf, body).await
            }
            _ => Err((StatusCode::NOT_FOUND, format!("no route {path}"), "route")),
        }
    }

    async fn step(&self, state: &mut FakeState, phase: Phase, leaf: &str, body: Value) -> Answer {
        match (phase, leaf) {
            (Phase::ExpectAuth, "auth") => {
                let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(body["signature"].as_str().unwrap_or(""))
                    .map_err(|_| bad("ST40", "signature not base64url"))?;
                // The terminal in these tests signs with a did:key: its key is in its name.
                let terminal = &self.terminal;
                let key = vc_schemas::OfflineResolver::key_of(terminal).unwrap();
                let message = api::auth_message("s1", "bm9uY2U", &self.holder, terminal);
                if self.behaviour == Behaviour::RefuseAuth
                    || key.verify(&message, &signature).is_err()
                {
                    return Err((
                        StatusCode::FORBIDDEN,
                        "the terminal's signature does not verify".into(),
                        "ST41",
                    ));
                }
                let (expect, first) =
                    channel::initiate(&self.secret, &self.card_channel, &mut OsRng).unwrap();
                state.phase = Phase::ExpectHandshake(expect);
                relay("ST38", host::open_channel(first))
            }
            (Phase::ExpectHandshake(expect), "card") => {
                let response = card_response(&body)?;
                let reply = host::ok_data(&response).map_err(|error| bad("ST39", error))?;
                let mut secure = expect
                    .read_response(&reply)
                    .map_err(|error| bad("ST39", error))?;
                let generate = host::generate_key_pair(crate::card::KeyAlgorithm::Ed25519);
                let apdu = host::envelope(&mut secure, &[generate]).unwrap();
                state.phase = Phase::ExpectKeyPair(secure);
                relay("ST42", apdu)
            }
            (Phase::ExpectKeyPair(mut secure), "card") => {
                let response = card_response(&body)?;
                let answers = host::open_envelope(&mut secure, &response, 1)
                    .map_err(|error| bad("ST45", error))?;
                let key =
                    host::parse_generated_key(&answers[0]).map_err(|error| bad("ST45", error))?;
                let key_id = self.key_id(&key);
                state.card_key = Some(key);
                state.phase = Phase::ExpectRequest(secure);
                Ok((StatusCode::OK, json!({"next": "ready", "key_id": key_id})))
            }
            (Phase::ExpectRequest(mut secure), "read") => {
                let request: api::ReadRequest =
                    serde_json::from_value(body).map_err(|error| bad("ST51", error))?;
                let key = state.card_key.clone().unwrap();
                let public = ed25519_dalek::VerifyingKey::from_bytes(
                    &<[u8; 32]>::try_from(key.public_key.as_slice()).unwrap(),
                )
                .unwrap();
                let challenge = match self.behaviour {
                    Behaviour::WrongChallenge => "not-the-terminals-challenge".to_owned(),
                    _ => request.challenge.clone(),
                };
                let pending = vc_schemas::prepare_presentation(
                    &[Secured::Json(self.credential.clone())],
                    did_methods::PublicKey::Ed25519(public.to_bytes()),
                    self.key_id(&key),
                    &vc_schemas::PresentationOptions::new(
                        &challenge,
                        &request.domain,
                        request.format,
                        chrono::Utc::now(),
                    ),
                    vc_schemas::shared_jsonld(),
                )
                .await
                .map_err(|error| bad("ST54", error))?;
                state.token = [0x5A; 32];
                let apdu = host::envelope(
                    &mut secure,
                    &[
                        host::sign(&key.key_id, pending.message()),
                        host::load_token(&state.token),
                    ],
                )
                .unwrap();
                state.phase = Phase::ExpectSignature(secure, pending);
                relay("ST54-57", apdu)
            }
            (Phase::ExpectSignature(mut secure, pending), "card") => {
                let response = card_response(&body)?;
                let answers = host::open_envelope(&mut secure, &response, 2)
                    .map_err(|error| bad("ST58", error))?;
                let signed = pending
                    .finish(&answers[0])
                    .map_err(|error| bad("ST56", error))?;
                state.phase = Phase::ExpectReadToken(secure, signed);
                Ok((StatusCode::OK, json!({"next": "release_token"})))
            }
            (Phase::ExpectReadToken(secure, signed), "token") => {
                check_token(state, &body, "ST62")?;
                state.phase = Phase::ExpectRequest(secure);
                let presentation = Value::from(signed);
                let ids = vec![self.credential["id"].clone()];
                Ok((
                    StatusCode::OK,
                    json!({"presentation": presentation, "credential_ids": ids}),
                ))
            }
            (Phase::ExpectRequest(mut secure), "write") => {
                let request: api::WriteRequest =
                    serde_json::from_value(body).map_err(|error| bad("ST71", error))?;
                state.token = [0x3C; 32];
                let apdu = host::envelope(&mut secure, &[host::load_token(&state.token)]).unwrap();
                state.phase = Phase::ExpectTokenLoaded(secure, request.credential_id);
                relay("ST73-74", apdu)
            }
            (Phase::ExpectTokenLoaded(mut secure, id), "card") => {
                let response = card_response(&body)?;
                host::open_envelope(&mut secure, &response, 1)
                    .map_err(|error| bad("ST75", error))?;
                state.phase = Phase::ExpectCredential(secure, id);
                Ok((StatusCode::OK, json!({"next": "release_token"})))
            }
            (Phase::ExpectCredential(secure, id), "credentials") => {
                check_token(state, &body, "ST80")?;
                let text = match &body["credential"] {
                    Value::String(jwt) => jwt.clone(),
                    other => other.to_string(),
                };
                let verdict = vc_schemas::verify(
                    &text,
                    &vc_schemas::OfflineResolver,
                    &vc_schemas::VerifyOptions::at(chrono::Utc::now()),
                )
                .await
                .map_err(|error| bad("ST82", error))?;
                if !verdict.valid {
                    return Err(bad("ST82", verdict.errors.join("; ")));
                }
                state.stored.push(body["credential"].clone());
                state.phase = Phase::ExpectRequest(secure);
                Ok((StatusCode::CREATED, json!({"id": id, "history_seq": 7})))
            }
            (_, leaf) => Err((
                StatusCode::CONFLICT,
                format!("{leaf} out of order"),
                "relay",
            )),
        }
    }
}

fn card_response(body: &Value) -> Result<Vec<u8>, (StatusCode, String, &'static str)> {
    hex::decode(body["response"].as_str().unwrap_or("")).map_err(|_| bad("relay", "not hex"))
}

fn check_token(
    state: &FakeState,
    body: &Value,
    step: &'static str,
) -> Result<(), (StatusCode, String, &'static str)> {
    if body["token"].as_str() != Some(hex::encode(state.token).as_str()) {
        return Err((StatusCode::FORBIDDEN, "invalid token".into(), step));
    }
    Ok(())
}

pub(super) struct Rig {
    pub(super) fake: Arc<Fake>,
    pub(super) card: InProcessTransport<InProcessCard>,
    pub(super) key: LocalKey,
    pub(super) server: tokio::task::JoinHandle<()>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(super) async fn rig(behaviour: Behaviour) -> Rig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = format!("did:web:127.0.0.1%3A{port}");
    let endpoint = format!("http://127.0.0.1:{port}/");
    let secret = ChannelSecretKey::generate(&mut OsRng);
    let (mut card, keys) = crate::test_support::personalised_card(
        &mut SeededRng::for_tests("flow tests"),
        5,
        crate::test_support::dev_personalisation(
            &holder,
            "https://not-used.example/",
            secret.public_key(),
        ),
        Box::new(SeededRng::for_tests("flow card")),
    );
    card.applet_mut().present(FingerSample::Genuine { seed: 1 });
    let issuer = LocalKey::generate(Algorithm::Ed25519, &mut OsRng);
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0b0e9f55-2c1c-4d2e-9a57-3a1f0c9a4e11",
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": holder, "name": "Hanako"}
    });
    let credential = match vc_schemas::issue_credential(
        unsigned,
        &issuer,
        ProofFormat::DataIntegrity,
        chrono::Utc::now(),
        vc_schemas::shared_jsonld(),
    )
    .await
    .unwrap()
    {
        Secured::Json(value) => value,
        Secured::Jwt(_) => unreachable!(),
    };
    let key = LocalKey::generate(Algorithm::Ed25519, &mut OsRng);
    let fake = Arc::new(Fake {
        terminal: key.verification_method().to_owned(),
        holder,
        endpoint,
        secret,
        card_channel: keys.channel,
        behaviour,
        credential,
        requests: AtomicUsize::new(0),
        state: Mutex::new(FakeState {
            phase: Phase::ExpectAuth,
            card_key: None,
            token: [0; 32],
            stored: Vec::new(),
            closed: false,
        }),
    });
    let served = fake.clone();
    let route = warp::method()
        .and(warp::path::full())
        .and(warp::body::bytes())
        .then(
            move |method: warp::http::Method,
                  path: warp::path::FullPath,
                  body: warp::hyper::body::Bytes| {
                let fake = served.clone();
                async move {
                    match fake.handle(method.as_str(), path.as_str(), &body).await {
                        Ok((status, value)) => {
                            warp::reply::with_status(warp::reply::json(&value), status)
                                .into_response()
                        }
                        Err((status, detail, step)) => {
                            let problem = json!({"type": "https://w3id.org/kura/problems/test",
                            "title": "refused", "status": status.as_u16(),
                            "detail": detail, "step": step});
                            warp::reply::with_status(warp::reply::json(&problem), status)
                                .into_response()
                        }
                    }
                }
            },
        );
    let server = tokio::spawn(warp::serve(route).incoming(listener).run());
    Rig {
        fake,
        card,
        key,
        server,
    }
}
