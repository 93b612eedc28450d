//! One named case per statement, valid and invalid: each invalid case asserts that a violation
//! names the property and the section.

use serde_json::{json, Value};

use super::*;

fn credential_v2() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "degree": "BSc"},
    })
}

fn credential_v1() -> Value {
    json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": "http://example.edu/credentials/3732",
        "type": ["VerifiableCredential"],
        "issuer": {"id": "did:example:issuer", "name": "Example University"},
        "issuanceDate": "2010-01-01T19:23:24Z",
        "credentialSubject": {"id": "did:example:subject", "degree": "BSc"},
    })
}

fn presentation_v2() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": "did:example:holder",
        "verifiableCredential": [
            {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
             "issuer": "did:example:issuer", "credentialSubject": {"degree": "BSc"},
             "proof": {"type": "DataIntegrityProof"}},
            {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "EnvelopedVerifiableCredential",
             "id": "data:application/vc+jwt,eyJhbGciOiJFZERTQSJ9.e30.c2ln"},
        ],
    })
}

/// A change to a base document: set (`Some`) or remove (`None`) the member at a path of
/// object keys.
fn with(mut document: Value, path: &[&str], value: Option<Value>) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut target = &mut document;
    for key in parents {
        target = target.get_mut(*key).unwrap();
    }
    let object = target.as_object_mut().unwrap();
    match value {
        Some(value) => {
            object.insert((*last).to_owned(), value);
        }
        None => {
            object.remove(*last);
        }
    }
    document
}

struct Case {
    name: &'static str,
    document: Value,
    /// `None` when valid; else the property and the section a violation must name.
    expected: Option<(&'static str, &'static str)>,
}

fn valid(name: &'static str, document: Value) -> Case {
    Case {
        name,
        document,
        expected: None,
    }
}

fn invalid(
    name: &'static str,
    document: Value,
    property: &'static str,
    section: &'static str,
) -> Case {
    Case {
        name,
        document,
        expected: Some((property, section)),
    }
}

fn run(cases: Vec<Case>, carrier: Carrier) {
    for case in cases {
        let found = problems(&case.document, carrier);
        match case.expected {
            None => assert!(
                found.is_empty(),
                "{}: expected no violation, got {found:?}",
                case.name
            ),
            Some((property, section)) => {
                assert!(
                    found
                        .iter()
                        .any(|v| v.property == property && v.section == section),
                    "{}: expected a violation of `{property}` ({section}), got {found:?}",
                    case.name
                );
                // The message names both, as the user reads it.
                let shown = found
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                assert!(
                    shown.contains(&format!("`{property}`")) && shown.contains(section),
                    "{}: {shown}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn contexts_vc_dm_2_0_4_3_and_5_2_1() {
    let base = credential_v2;
    run(
        vec![
            valid("base context first, then a URL", base()),
            valid(
                "base context then an object",
                with(
                    base(),
                    &["@context"],
                    Some(
                        json!(["https://www.w3.org/ns/credentials/v2", {"ex": "https://ex.example/#"}]),
                    ),
                ),
            ),
            valid(
                "a lone base context string",
                with(
                    base(),
                    &["@context"],
                    Some(json!("https://www.w3.org/ns/credentials/v2")),
                ),
            ),
            valid(
                "undefined-terms last",
                with(
                    base(),
                    &["@context"],
                    Some(json!([
                        "https://www.w3.org/ns/credentials/v2",
                        "https://www.w3.org/ns/credentials/undefined-terms/v2"
                    ])),
                ),
            ),
            invalid(
                "no @context",
                with(base(), &["@context"], None),
                "@context",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "@context a number",
                with(base(), &["@context"], Some(json!(7))),
                "@context",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "@context empty",
                with(base(), &["@context"], Some(json!([]))),
                "@context",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "base context not first",
                with(
                    base(),
                    &["@context"],
                    Some(json!([
                        "https://www.w3.org/ns/credentials/examples/v2",
                        "https://www.w3.org/ns/credentials/v2"
                    ])),
                ),
                "@context[0]",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "a later context neither URL nor object",
                with(
                    base(),
                    &["@context"],
                    Some(json!(["https://www.w3.org/ns/credentials/v2", 5])),
                ),
                "@context[1]",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "a later context a relative reference",
                with(
                    base(),
                    &["@context"],
                    Some(json!([
                        "https://www.w3.org/ns/credentials/v2",
                        "contexts/mine.json"
                    ])),
                ),
                "@context[1]",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "undefined-terms not last",
                with(
                    base(),
                    &["@context"],
                    Some(json!([
                        "https://www.w3.org/ns/credentials/v2",
                        "https://www.w3.org/ns/credentials/undefined-terms/v2",
                        "https://www.w3.org/ns/credentials/examples/v2"
                    ])),
                ),
                "@context[1]",
                "VC DM 2.0 §5.2.1",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn identifiers_vc_dm_2_0_4_4() {
    let base = credential_v2;
    run(
        vec![
            valid(
                "an HTTPS id",
                with(
                    base(),
                    &["id"],
                    Some(json!("https://id.example/things#123")),
                ),
            ),
            valid(
                "a DID id",
                with(base(), &["id"], Some(json!("did:example:1234abcd"))),
            ),
            valid("no id", with(base(), &["id"], None)),
            invalid(
                "an id that is no URL",
                with(base(), &["id"], Some(json!("credential 7"))),
                "id",
                "VC DM 2.0 §4.4",
            ),
            invalid(
                "two ids",
                with(base(), &["id"], Some(json!(["urn:a:1", "urn:a:2"]))),
                "id",
                "VC DM 2.0 §4.4",
            ),
            invalid(
                "an id with a space around it",
                with(base(), &["id"], Some(json!(" urn:a:1"))),
                "id",
                "VC DM 2.0 §4.4",
            ),
            invalid(
                "a subject id that is no URL",
                with(base(), &["credentialSubject", "id"], Some(json!("Pat"))),
                "credentialSubject.id",
                "VC DM 2.0 §4.4",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn types_vc_dm_2_0_4_5() {
    let base = credential_v2;
    run(
        vec![
            valid("VerifiableCredential and a narrower type", base()),
            valid(
                "a URL type",
                with(
                    base(),
                    &["type"],
                    Some(json!([
                        "VerifiableCredential",
                        "https://vocab.example/#Degree"
                    ])),
                ),
            ),
            invalid(
                "no type",
                with(base(), &["type"], None),
                "type",
                "VC DM 2.0 §4.5",
            ),
            invalid(
                "an empty type",
                with(base(), &["type"], Some(json!([]))),
                "type",
                "VC DM 2.0 §4.5",
            ),
            invalid(
                "a type that is a number",
                with(base(), &["type"], Some(json!(["VerifiableCredential", 3]))),
                "type",
                "VC DM 2.0 §4.5",
            ),
            invalid(
                "neither credential nor presentation",
                with(base(), &["type"], Some(json!(["ExampleDegreeCredential"]))),
                "type",
                "VC DM 2.0 §4.5",
            ),
            invalid(
                "both credential and presentation",
                with(
                    base(),
                    &["type"],
                    Some(json!(["VerifiableCredential", "VerifiablePresentation"])),
                ),
                "type",
                "VC DM 2.0 §4.5",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn names_and_descriptions_vc_dm_2_0_4_6_and_11_1() {
    let base = credential_v2;
    run(
        vec![
            valid(
                "a string name",
                with(base(), &["name"], Some(json!("Degree"))),
            ),
            valid(
                "a language value description",
                with(
                    base(),
                    &["description"],
                    Some(json!({"@value": "Grado", "@language": "es", "@direction": "ltr"})),
                ),
            ),
            valid(
                "names in two languages",
                with(
                    base(),
                    &["name"],
                    Some(
                        json!([{"@value": "Degree", "@language": "en"}, {"@value": "شهادة", "@language": "ar", "@direction": "rtl"}]),
                    ),
                ),
            ),
            invalid(
                "a number name",
                with(base(), &["name"], Some(json!(42))),
                "name",
                "VC DM 2.0 §4.6",
            ),
            invalid(
                "an array of strings",
                with(base(), &["description"], Some(json!(["a", "b"]))),
                "description[0]",
                "VC DM 2.0 §4.6",
            ),
            invalid(
                "a language value without @value",
                with(base(), &["name"], Some(json!({"@language": "en"}))),
                "name.@value",
                "VC DM 2.0 §11.1",
            ),
            invalid(
                "a language value with another key",
                with(
                    base(),
                    &["name"],
                    Some(json!({"@value": "Degree", "lang": "en"})),
                ),
                "name.lang",
                "VC DM 2.0 §11.1",
            ),
            invalid(
                "a direction that is not ltr/rtl",
                with(
                    base(),
                    &["name"],
                    Some(json!({"@value": "Degree", "@direction": "up"})),
                ),
                "name.@direction",
                "VC DM 2.0 §11.1",
            ),
            invalid(
                "a language that is not a string",
                with(
                    base(),
                    &["description"],
                    Some(json!({"@value": "x", "@language": 1})),
                ),
                "description.@language",
                "VC DM 2.0 §11.1",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn issuer_vc_dm_2_0_4_7() {
    let base = credential_v2;
    run(
        vec![
            valid("an issuer URL", base()),
            valid(
                "an issuer object with an id",
                with(
                    base(),
                    &["issuer"],
                    Some(json!({"id": "did:example:issuer", "name": "Example University"})),
                ),
            ),
            invalid(
                "no issuer",
                with(base(), &["issuer"], None),
                "issuer",
                "VC DM 2.0 §4.7",
            ),
            invalid(
                "an issuer that is no URL",
                with(base(), &["issuer"], Some(json!("Example University"))),
                "issuer",
                "VC DM 2.0 §4.7",
            ),
            invalid(
                "an issuer object without id",
                with(
                    base(),
                    &["issuer"],
                    Some(json!({"name": "Example University"})),
                ),
                "issuer.id",
                "VC DM 2.0 §4.7",
            ),
            invalid(
                "an issuer object with a bad id",
                with(base(), &["issuer"], Some(json!({"id": "Example"}))),
                "issuer.id",
                "VC DM 2.0 §4.7",
            ),
            invalid(
                "an issuer array",
                with(base(), &["issuer"], Some(json!(["did:example:issuer"]))),
                "issuer",
                "VC DM 2.0 §4.7",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn credential_subject_vc_dm_2_0_4_8() {
    let base = credential_v2;
    run(
        vec![
            valid("one subject", base()),
            valid(
                "two subjects",
                with(
                    base(),
                    &["credentialSubject"],
                    Some(
                        json!([{"id": "did:example:a", "spouse": "did:example:b"}, {"id": "did:example:b", "spouse": "did:example:a"}]),
                    ),
                ),
            ),
            valid(
                "a subject without id",
                with(
                    base(),
                    &["credentialSubject"],
                    Some(json!({"degree": "BSc"})),
                ),
            ),
            invalid(
                "no credentialSubject",
                with(base(), &["credentialSubject"], None),
                "credentialSubject",
                "VC DM 2.0 §4.8",
            ),
            invalid(
                "an empty array",
                with(base(), &["credentialSubject"], Some(json!([]))),
                "credentialSubject",
                "VC DM 2.0 §4.8",
            ),
            invalid(
                "a string subject",
                with(
                    base(),
                    &["credentialSubject"],
                    Some(json!("did:example:subject")),
                ),
                "credentialSubject",
                "VC DM 2.0 §4.8",
            ),
            invalid(
                "an empty object",
                with(base(), &["credentialSubject"], Some(json!({}))),
                "credentialSubject",
                "VC DM 2.0 §4.8",
            ),
            invalid(
                "only an id, no claim",
                with(
                    base(),
                    &["credentialSubject"],
                    Some(json!({"id": "did:example:subject"})),
                ),
                "credentialSubject",
                "VC DM 2.0 §4.8",
            ),
            invalid(
                "a non-object in the array",
                with(
                    base(),
                    &["credentialSubject"],
                    Some(json!([{"degree": "BSc"}, 3])),
                ),
                "credentialSubject[1]",
                "VC DM 2.0 §4.8",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn validity_period_vc_dm_2_0_4_9() {
    let base = credential_v2;
    run(
        vec![
            valid(
                "validFrom and a later validUntil",
                with(
                    base(),
                    &["validUntil"],
                    Some(json!("2030-01-01T00:00:00+01:00")),
                ),
            ),
            valid(
                "the same instant",
                with(
                    base(),
                    &["validUntil"],
                    Some(json!("2025-01-01T01:00:00+01:00")),
                ),
            ),
            valid("neither", with(base(), &["validFrom"], None)),
            invalid(
                "validFrom without a time zone",
                with(base(), &["validFrom"], Some(json!("2025-01-01T00:00:00"))),
                "validFrom",
                "VC DM 2.0 §4.9",
            ),
            invalid(
                "validFrom a date only",
                with(base(), &["validFrom"], Some(json!("2025-01-01"))),
                "validFrom",
                "VC DM 2.0 §4.9",
            ),
            invalid(
                "validUntil a number",
                with(base(), &["validUntil"], Some(json!(1_700_000_000))),
                "validUntil",
                "VC DM 2.0 §4.9",
            ),
            invalid(
                "validUntil a day that does not exist",
                with(base(), &["validUntil"], Some(json!("2030-02-30T00:00:00Z"))),
                "validUntil",
                "VC DM 2.0 §4.9",
            ),
            invalid(
                "validUntil before validFrom",
                with(base(), &["validUntil"], Some(json!("2024-12-31T23:59:59Z"))),
                "validUntil",
                "VC DM 2.0 §4.9",
            ),
        ],
        Carrier::Document,
    );
    let before = with(
        credential_v2(),
        &["validUntil"],
        Some(json!("2024-12-31T23:59:59Z")),
    );
    let shown: Vec<String> = problems(&before, Carrier::Document)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        ["`validUntil` is before `validFrom` (VC DM 2.0 §4.9)"]
    );
}

#[test]
fn typed_objects_vc_dm_2_0_4_10_4_11_5_4_5_5_5_6_5_10() {
    let base = credential_v2;
    let status = json!({"id": "https://status.example/list#94567", "type": "BitstringStatusListEntry", "statusPurpose": "revocation"});
    let schema = json!({"id": "https://schema.example/degree.json", "type": "JsonSchema"});
    run(
        vec![
            valid(
                "a status entry",
                with(base(), &["credentialStatus"], Some(status.clone())),
            ),
            valid(
                "two status entries, one without id",
                with(
                    base(),
                    &["credentialStatus"],
                    Some(json!([status, {"type": "BitstringStatusListEntry"}])),
                ),
            ),
            invalid(
                "a status without type",
                with(
                    base(),
                    &["credentialStatus"],
                    Some(json!({"id": "https://status.example/1"})),
                ),
                "credentialStatus.type",
                "VC DM 2.0 §4.10",
            ),
            invalid(
                "a status id that is no URL",
                with(
                    base(),
                    &["credentialStatus"],
                    Some(json!([{"type": "X", "id": "94567"}])),
                ),
                "credentialStatus[0].id",
                "VC DM 2.0 §4.10",
            ),
            invalid(
                "a status string",
                with(
                    base(),
                    &["credentialStatus"],
                    Some(json!("https://status.example/1")),
                ),
                "credentialStatus",
                "VC DM 2.0 §4.10",
            ),
            valid(
                "a schema",
                with(base(), &["credentialSchema"], Some(schema.clone())),
            ),
            invalid(
                "a schema without id",
                with(
                    base(),
                    &["credentialSchema"],
                    Some(json!({"type": "JsonSchema"})),
                ),
                "credentialSchema.id",
                "VC DM 2.0 §4.11",
            ),
            invalid(
                "a schema without type",
                with(
                    base(),
                    &["credentialSchema"],
                    Some(json!([{"id": "https://schema.example/a.json"}])),
                ),
                "credentialSchema[0].type",
                "VC DM 2.0 §4.11",
            ),
            invalid(
                "a schema id that is no URL",
                with(
                    base(),
                    &["credentialSchema"],
                    Some(json!({"type": "JsonSchema", "id": "degree.json"})),
                ),
                "credentialSchema.id",
                "VC DM 2.0 §4.11",
            ),
            valid(
                "a refresh service",
                with(
                    base(),
                    &["refreshService"],
                    Some(
                        json!({"type": "VerifiableCredentialRefreshService2021", "url": "https://r.example/"}),
                    ),
                ),
            ),
            invalid(
                "a refresh service without type",
                with(
                    base(),
                    &["refreshService"],
                    Some(json!({"url": "https://r.example/"})),
                ),
                "refreshService.type",
                "VC DM 2.0 §5.4",
            ),
            valid(
                "terms of use",
                with(
                    base(),
                    &["termsOfUse"],
                    Some(
                        json!([{"type": "TrustFrameworkPolicy", "id": "https://policies.example/1"}]),
                    ),
                ),
            ),
            invalid(
                "terms of use without type",
                with(
                    base(),
                    &["termsOfUse"],
                    Some(json!([{"id": "https://policies.example/1"}])),
                ),
                "termsOfUse[0].type",
                "VC DM 2.0 §5.5",
            ),
            valid(
                "evidence",
                with(
                    base(),
                    &["evidence"],
                    Some(json!({"type": ["Evidence"], "id": "https://evidence.example/1"})),
                ),
            ),
            invalid(
                "evidence without type",
                with(
                    base(),
                    &["evidence"],
                    Some(json!({"id": "https://evidence.example/1"})),
                ),
                "evidence.type",
                "VC DM 2.0 §5.6",
            ),
            valid(
                "an empty evidence array (no value in JSON-LD)",
                with(base(), &["evidence"], Some(json!([]))),
            ),
            valid(
                "a render method",
                with(
                    base(),
                    &["renderMethod"],
                    Some(json!({"type": "SvgRenderingTemplate"})),
                ),
            ),
            invalid(
                "a render method without type",
                with(base(), &["renderMethod"], Some(json!({"name": "card"}))),
                "renderMethod.type",
                "VC DM 2.0 §5.10",
            ),
            invalid(
                "a confidence method without type",
                with(base(), &["confidenceMethod"], Some(json!([{}]))),
                "confidenceMethod[0].type",
                "VC DM 2.0 §5.10",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn related_resources_vc_dm_2_0_5_3() {
    let base = credential_v2;
    let resource = json!({"id": "https://www.w3.org/ns/credentials/v2", "digestSRI": "sha384-abc"});
    run(
        vec![
            valid(
                "one resource with a digest",
                with(
                    base(),
                    &["relatedResource"],
                    Some(json!([resource.clone()])),
                ),
            ),
            invalid(
                "a resource without digest",
                with(
                    base(),
                    &["relatedResource"],
                    Some(json!([{"id": "https://a.example/"}])),
                ),
                "relatedResource[0]",
                "VC DM 2.0 §5.3",
            ),
            invalid(
                "a resource without id",
                with(
                    base(),
                    &["relatedResource"],
                    Some(json!([{"digestMultibase": "uEiA"}])),
                ),
                "relatedResource[0].id",
                "VC DM 2.0 §5.3",
            ),
            invalid(
                "a resource listed twice",
                with(
                    base(),
                    &["relatedResource"],
                    Some(json!([resource.clone(), resource])),
                ),
                "relatedResource[1].id",
                "VC DM 2.0 §5.3",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn presentations_vc_dm_2_0_4_13() {
    let base = presentation_v2;
    run(
        vec![
            valid("an embedded and an enveloped credential", base()),
            valid(
                "no holder, no credentials",
                with(
                    with(base(), &["holder"], None),
                    &["verifiableCredential"],
                    None,
                ),
            ),
            valid(
                "a holder object",
                with(
                    base(),
                    &["holder"],
                    Some(json!({"id": "did:example:holder", "name": "Pat"})),
                ),
            ),
            invalid(
                "a holder that is no URL",
                with(base(), &["holder"], Some(json!("Pat"))),
                "holder",
                "VC DM 2.0 §4.13",
            ),
            invalid(
                "a holder object without id",
                with(base(), &["holder"], Some(json!({"name": "Pat"}))),
                "holder.id",
                "VC DM 2.0 §4.13",
            ),
            invalid(
                "a presentation id that is no URL",
                with(base(), &["id"], Some(json!("vp 1"))),
                "id",
                "VC DM 2.0 §4.4",
            ),
            invalid(
                "no VerifiablePresentation type",
                with(base(), &["type"], Some(json!(["ExamplePresentation"]))),
                "type",
                "VC DM 2.0 §4.5",
            ),
            invalid(
                "a bare JWT string",
                with(
                    base(),
                    &["verifiableCredential"],
                    Some(json!(["eyJhbGciOiJFZERTQSJ9.e30.c2ln"])),
                ),
                "verifiableCredential[0]",
                "VC DM 2.0 §4.13",
            ),
            invalid(
                "a URL",
                with(
                    base(),
                    &["verifiableCredential"],
                    Some(json!("https://vc.example/1")),
                ),
                "verifiableCredential",
                "VC DM 2.0 §4.13",
            ),
            invalid(
                "an unsecured credential",
                with(
                    base(),
                    &["verifiableCredential"],
                    Some(json!([{"type": "VerifiableCredential"}])),
                ),
                "verifiableCredential[0]",
                "VC DM 2.0 §4.13",
            ),
            valid(
                "an empty list (no credential presented)",
                with(base(), &["verifiableCredential"], Some(json!([]))),
            ),
            invalid(
                "an envelope without @context",
                with(
                    base(),
                    &["verifiableCredential"],
                    Some(
                        json!([{"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,a.b.c"}]),
                    ),
                ),
                "verifiableCredential[0].@context",
                "VC DM 2.0 §4.13.1",
            ),
            invalid(
                "an envelope whose id is no data: URL",
                with(
                    base(),
                    &["verifiableCredential"],
                    Some(
                        json!([{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "EnvelopedVerifiableCredential", "id": "https://vc.example/1"}]),
                    ),
                ),
                "verifiableCredential[0].id",
                "VC DM 2.0 §4.13.1",
            ),
            invalid(
                "terms of use without type",
                with(
                    base(),
                    &["termsOfUse"],
                    Some(json!({"id": "https://p.example/"})),
                ),
                "termsOfUse.type",
                "VC DM 2.0 §5.5",
            ),
        ],
        Carrier::Document,
    );
}

#[test]
fn a_vc_jwt_1_1_vp_claim_lists_credentials_as_jwts() {
    let jwts = with(
        presentation_v2(),
        &["verifiableCredential"],
        Some(json!(["eyJhbGciOiJFZERTQSJ9.e30.c2ln"])),
    );
    run(
        vec![
            valid("a compact JWT", jwts),
            invalid(
                "a string that is no JWT",
                with(
                    presentation_v2(),
                    &["verifiableCredential"],
                    Some(json!(["hello"])),
                ),
                "verifiableCredential[0]",
                "VC DM 2.0 §4.13",
            ),
        ],
        Carrier::JwtClaim,
    );
}

#[test]
fn vc_dm_1_1_equivalents() {
    let base = credential_v1;
    run(
        vec![
            valid("a 1.1 credential", base()),
            valid(
                "an issuanceDate without time zone (a dateTime)",
                with(
                    base(),
                    &["issuanceDate"],
                    Some(json!("2010-01-01T19:23:24")),
                ),
            ),
            valid(
                "an expirationDate",
                with(
                    base(),
                    &["expirationDate"],
                    Some(json!("2030-01-01T00:00:00Z")),
                ),
            ),
            valid(
                "a 1.1 status with id and type",
                with(
                    base(),
                    &["credentialStatus"],
                    Some(json!({"id": "https://s.example/1#3", "type": "StatusList2021Entry"})),
                ),
            ),
            invalid(
                "the v1 context not first",
                with(
                    base(),
                    &["@context"],
                    Some(json!([
                        "https://www.w3.org/ns/credentials/examples/v2",
                        "https://www.w3.org/2018/credentials/v1"
                    ])),
                ),
                "@context[0]",
                "VC DM 2.0 §4.3",
            ),
            invalid(
                "a later context neither URI nor object",
                with(
                    base(),
                    &["@context"],
                    Some(json!(["https://www.w3.org/2018/credentials/v1", true])),
                ),
                "@context[1]",
                "VC DM 1.1 §4.1",
            ),
            invalid(
                "an id that is no URI",
                with(base(), &["id"], Some(json!("3732"))),
                "id",
                "VC DM 1.1 §4.2",
            ),
            invalid(
                "no type",
                with(base(), &["type"], None),
                "type",
                "VC DM 1.1 §4.3",
            ),
            invalid(
                "no credentialSubject",
                with(base(), &["credentialSubject"], None),
                "credentialSubject",
                "VC DM 1.1 §4.4",
            ),
            invalid(
                "no issuer",
                with(base(), &["issuer"], None),
                "issuer",
                "VC DM 1.1 §4.5",
            ),
            invalid(
                "no issuanceDate",
                with(base(), &["issuanceDate"], None),
                "issuanceDate",
                "VC DM 1.1 §4.6",
            ),
            invalid(
                "an issuanceDate that is no dateTime",
                with(base(), &["issuanceDate"], Some(json!("1 Jan 2010"))),
                "issuanceDate",
                "VC DM 1.1 §4.6",
            ),
            invalid(
                "an expirationDate that is no dateTime",
                with(base(), &["expirationDate"], Some(json!("2030-01-01"))),
                "expirationDate",
                "VC DM 1.1 §4.8",
            ),
            invalid(
                "a 1.1 status without id",
                with(
                    base(),
                    &["credentialStatus"],
                    Some(json!({"type": "StatusList2021Entry"})),
                ),
                "credentialStatus.id",
                "VC DM 1.1 §4.9",
            ),
            invalid(
                "a 1.1 schema without id",
                with(
                    base(),
                    &["credentialSchema"],
                    Some(json!({"type": "JsonSchemaValidator2018"})),
                ),
                "credentialSchema.id",
                "VC DM 1.1 §5.4",
            ),
            invalid(
                "a 1.1 refresh service without id",
                with(
                    base(),
                    &["refreshService"],
                    Some(json!({"type": "ManualRefreshService2018"})),
                ),
                "refreshService.id",
                "VC DM 1.1 §5.5",
            ),
            invalid(
                "1.1 terms of use without type",
                with(
                    base(),
                    &["termsOfUse"],
                    Some(json!({"id": "https://p.example/"})),
                ),
                "termsOfUse.type",
                "VC DM 1.1 §5.6",
            ),
            invalid(
                "1.1 evidence without type",
                with(
                    base(),
                    &["evidence"],
                    Some(json!([{"id": "https://e.example/"}])),
                ),
                "evidence[0].type",
                "VC DM 1.1 §5.7",
            ),
        ],
        Carrier::Document,
    );
    // 1.1 presentations may list JWT credentials (VC DM 1.1 §6.3.1), in any carrier.
    let vp = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"], "type": "VerifiablePresentation",
        "verifiableCredential": ["eyJhbGciOiJFZERTQSJ9.e30.c2ln"],
    });
    assert!(problems(&vp, Carrier::Document).is_empty());
    // 1.1 has no statement on names: a number name is the issuer's business there.
    assert!(problems(
        &with(credential_v1(), &["name"], Some(json!(1))),
        Carrier::Document
    )
    .is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let broken = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "validFrom": "2025-01-01",
        "credentialSubject": [],
    });
    let found = problems(&broken, Carrier::Document);
    let properties: Vec<&str> = found.iter().map(|v| v.property.as_str()).collect();
    assert_eq!(
        properties,
        ["issuer", "credentialSubject", "validFrom"],
        "{found:?}"
    );
}

#[test]
fn check_issued_looks_into_embedded_credentials() {
    let vp = with(
        presentation_v2(),
        &["verifiableCredential"],
        Some(
            json!([{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
                      "credentialSubject": {"degree": "BSc"}, "proof": {"type": "DataIntegrityProof"}}]),
        ),
    );
    assert!(problems(&vp, Carrier::Document).is_empty());
    let Err(Error::DataModel(found)) = check_issued(&vp, Carrier::Document) else {
        panic!("the embedded credential has no issuer");
    };
    assert_eq!(found[0].property, "verifiableCredential[0].issuer");
    assert_eq!(found[0].section, "VC DM 2.0 §4.7");
    assert!(check_issued(&presentation_v2(), Carrier::Document).is_ok());
}
