//! Runs every APDU script in `tests/apdu/*.json` against the in-process card, with the one
//! driver of `card_bridge::card::script`. The same scripts run through the real pcscd in the
//! virtual-card tests.

use std::path::PathBuf;

use card_bridge::card::script::ApduScript;

fn scripts() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apdu");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/apdu exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_apdu_script_passes_in_process() {
    let paths = scripts();
    assert!(
        paths.len() >= 5,
        "expected the APDU scripts, found {paths:?}"
    );
    let mut failures = Vec::new();
    for path in &paths {
        let script = ApduScript::load(path).expect("script parses");
        let mut card = script.in_process_card();
        match script.run(&mut card) {
            Ok(round_trips) => println!(
                "{}: {} steps, {round_trips} round trips",
                path.display(),
                script.steps.len()
            ),
            Err(error) => failures.push(format!("{}: {error}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "failed scripts:\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_wrong_expectation_is_reported_with_its_step() {
    // The driver must not pass everything: a script expecting the wrong status word fails.
    let script: ApduScript = serde_json::from_str(
        r#"{ "description": "wrong on purpose", "card": "blank",
             "steps": [ { "note": "select", "command": "00A4040007F06B757261000100", "sw": "6A82" } ] }"#,
    )
    .expect("parses");
    let error = script
        .run(&mut script.in_process_card())
        .expect_err("must fail");
    assert!(error.to_string().contains("step 0 (select)"), "{error}");
}
