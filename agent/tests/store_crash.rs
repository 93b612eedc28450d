//! Crash safety of the store (patent ST83, DESIGN P7): a child process writes credentials and
//! prints each id once `put_credential_with_history` has returned (its acknowledgement); the
//! parent `kill -9`s it mid-stream, reopens the store, and checks that every acknowledged id is
//! there and that the history chain still verifies.
//!
//! The child is this same test binary, started with an environment variable that turns the
//! `crash_writer_child` test into the writer loop.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use kura_agent::history::{Actor, Event, EventKind, Outcome};
use kura_agent::store::{CredentialRecord, Store};

const CHILD_DIR: &str = "KURA_STORE_CRASH_DIR";
const CHILD_ROUND: &str = "KURA_STORE_CRASH_ROUND";
const ACK: &str = "ack ";

/// The writer. A no-op unless started by `acknowledged_writes_survive_kill_9`.
#[test]
fn crash_writer_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) else {
        return;
    };
    let store = Store::open(&dir).expect("child: open");
    let mut stdout = std::io::stdout().lock();
    for index in 0u64.. {
        let id = format!("urn:crash:{round}:{index}");
        let json = serde_json::json!({
            "type": ["VerifiableCredential", "CrashTestCredential"],
            "issuer": "did:key:zCrashIssuer",
            "credentialSubject": {"id": "did:web:holder.example", "index": index, "pad": "x".repeat(200)},
        });
        let record = CredentialRecord::from_json(&id, json.to_string(), SystemTime::now())
            .expect("child: record");
        let event = Event::new(
            SystemTime::now(),
            Actor::Terminal("did:key:zCrashIssuer".into()),
            EventKind::Write,
            Outcome::Success,
        )
        .with_credentials([id.clone()]);
        store
            .put_credential_with_history(&record, &event)
            .expect("child: put");
        // The acknowledgement: printed only after the durable write returned.
        writeln!(stdout, "{ACK}{id}").expect("child: stdout");
        stdout.flush().expect("child: flush");
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let mut acknowledged: Vec<String> = Vec::new();
    // Kill after a different number of acknowledgements each round, so the child dies at
    // different points of its write loop.
    for (round, kill_after) in [7usize, 40, 1, 113, 23].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut this_round = 0;
        while this_round < kill_after {
            assert!(Instant::now() < deadline, "child too slow");
            let Some(line) = lines.next() else {
                panic!("child exited early: {:?}", child.wait());
            };
            if let Some(id) = line.expect("read child").strip_prefix(ACK) {
                acknowledged.push(id.to_owned());
                this_round += 1;
            }
        }
        // SIGKILL on Unix: no destructor, no flush, no goodbye.
        child.kill().expect("kill -9");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the child was killed, not finished");
        // Any id the child printed between our last read and the kill was acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix(ACK) {
                acknowledged.push(id.to_owned());
            }
        }

        let store = Store::open(dir.path()).expect("reopen after kill -9");
        for id in &acknowledged {
            assert!(
                store.get_credential(id).expect("read").is_some(),
                "acknowledged credential {id} lost after kill -9 (round {round})"
            );
        }
        let indexed = store
            .credential_ids_by_type("CrashTestCredential")
            .expect("index");
        assert_eq!(
            indexed.len(),
            store.credential_count(),
            "index and credentials agree"
        );
        let summary = store
            .verify_chain()
            .expect("history chain verifies after kill -9");
        // One history entry per stored credential: they were written in one transaction.
        assert_eq!(summary.entries, store.credential_count() as u64);
        assert!(store.credential_count() >= acknowledged.len());
    }
}
