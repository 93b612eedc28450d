//! Store throughput: durable credential puts, history appends, token issue + redeem, chain
//! verification. A plain bench binary (no criterion): it prints one line per figure.
//!
//! Run: `cargo bench -p kura-agent --bench store` (set `KURA_BENCH_N` to change the count).
//! The store lives under the target directory, on the same disk as a real data directory would,
//! not on a tmpfs, so that every flush is a real fsync.

use std::time::{Duration, Instant, SystemTime};

use kura_agent::history::{Actor, Event, EventKind, Outcome};
use kura_agent::store::{CredentialRecord, Store};
use kura_agent::token::{Operation, Redemption, RequestDigest, TokenBinding};
use rand_core::OsRng;

fn credential(index: usize) -> CredentialRecord {
    let json = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "QualificationCredential"],
        "issuer": "did:key:z6MkBenchIssuer",
        "credentialSubject": {"id": "did:web:holder.example", "qualification": format!("Q{index}")},
        "proof": {"type": "DataIntegrityProof", "proofValue": "z".repeat(88)},
    });
    CredentialRecord::from_json(
        format!("urn:bench:{index}"),
        json.to_string(),
        SystemTime::now(),
    )
    .expect("record")
}

fn event(kind: EventKind, index: usize) -> Event {
    Event::new(
        SystemTime::now(),
        Actor::Terminal("did:key:z6MkBenchTerminal".into()),
        kind,
        Outcome::Success,
    )
    .with_credentials([format!("urn:bench:{index}")])
    .with_presentation(&[7u8; 1200])
}

fn report(name: &str, count: usize, elapsed: Duration) {
    let per_second = count as f64 / elapsed.as_secs_f64();
    let micros = elapsed.as_secs_f64() * 1e6 / count as f64;
    println!("{name:<44} {count:>7} ops  {per_second:>10.0} ops/s  {micros:>9.1} µs/op");
}

fn main() {
    let count: usize = std::env::var("KURA_BENCH_N")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    println!(
        "kura store bench: {count} operations each, data in {}",
        dir.path().display()
    );

    let records: Vec<_> = (0..count).map(credential).collect();
    let start = Instant::now();
    for record in &records {
        store.put_credential(record).expect("put");
    }
    report("put_credential (durable, flushed)", count, start.elapsed());

    let records: Vec<_> = (count..2 * count).map(credential).collect();
    let start = Instant::now();
    for (index, record) in records.iter().enumerate() {
        store
            .put_credential_with_history(record, &event(EventKind::Write, count + index))
            .expect("put with history");
    }
    report(
        "put_credential_with_history (durable)",
        count,
        start.elapsed(),
    );

    let start = Instant::now();
    for index in 0..count {
        store
            .append_history(&event(EventKind::Read, index))
            .expect("append");
    }
    report("append_history (durable)", count, start.elapsed());

    // Concurrent appenders share fsyncs: sled flushes what is buffered, for everyone.
    let threads = 8;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let store = store.clone();
            scope.spawn(move || {
                for index in 0..count / threads {
                    store
                        .append_history(&event(EventKind::Read, index))
                        .expect("append");
                }
            });
        }
    });
    report(
        "append_history (durable, 8 threads)",
        count / threads * threads,
        start.elapsed(),
    );

    let start = Instant::now();
    let now = SystemTime::now();
    for index in 0..count {
        let operation = Operation::Read {
            request: RequestDigest::of(&index.to_be_bytes()),
        };
        let binding = TokenBinding::new("bench-session", operation, "did:key:zT", now);
        let token = store.issue_token(&mut OsRng, binding, now).expect("issue");
        let outcome = store
            .redeem_token(&token, "bench-session", &operation, "did:key:zT", now)
            .expect("redeem");
        assert!(matches!(outcome, Redemption::Accepted { .. }));
    }
    report("issue_token + redeem_token", count, start.elapsed());

    // Each lookup returns every stored credential id of that type (2 × count of them).
    let lookups = 100;
    let start = Instant::now();
    for _ in 0..lookups {
        let found = store
            .credential_ids_by_type("QualificationCredential")
            .expect("by type");
        assert_eq!(found.len(), 2 * count);
    }
    report(
        "credential_ids_by_type (2×N ids each)",
        lookups,
        start.elapsed(),
    );

    let start = Instant::now();
    let summary = store.verify_chain().expect("verify");
    let entries = usize::try_from(summary.entries).expect("fits");
    report("verify_chain (per entry)", entries, start.elapsed());
    println!("on disk: {} bytes", dir_size(dir.path()));
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
