#!/usr/bin/env node
// Usage: node issue.mjs --out DIR [--credential FILE] [--challenge C]
//          [--domain D] [--jwt-style vc-jose-cose|vc-jwt-1.1] [--data-model 2.0|1.1]
//          [--context URL=FILE]...
// Issues, from fresh did:key keys (issuer and holder, Ed25519 and P-256):
//   vc-di-eddsa.json  vc-di-ecdsa.json   Data Integrity VCs (eddsa-rdfc-2022, ecdsa-rdfc-2019)
//   vp-di-eddsa.json  vp-di-ecdsa.json   Data Integrity VPs with challenge and domain
//   vc-jwt-eddsa.jwt  vc-jwt-es256.jwt   VC-JWTs signed with jose (EdDSA, ES256)
//   vp-jwt-eddsa.jwt  vp-jwt-es256.jwt   VP-JWTs (nonce = challenge, aud = domain)
//   manifest.json                        DIDs, challenge, domain and file names
// The credential template (--credential) gets this issuer, a validFrom if it
// has none, and the holder's DID as credentialSubject.id if it has none; a
// built-in VCDM 2.0 credential is used otherwise. With --jwt-style vc-jwt-1.1
// --data-model 1.1 the VC-JWTs carry a VCDM 1.1 credential in didkit's shape
// (issuer, id, subject id and issuance date only as claims; `nbf` not an integer).
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {parseArgs} from 'node:util';
import {randomBytes} from 'node:crypto';
import {forbidNetwork, registerContextFiles} from './lib/offline.mjs';
import {
  issueDi, issueJwt, newDidKey, prepareCredential, presentDi, presentJwt, VC_V2_CONTEXT
} from './lib/issue.mjs';

forbidNetwork();

function defaultTemplate() {
  return {
    // The VC v2 context has no @vocab (VCDM 2.0 final); an inline context
    // maps this credential's own terms, so neither side needs a remote one.
    '@context': [VC_V2_CONTEXT, {'@vocab': 'https://example.org/kura-interop#'}],
    id: `urn:uuid:${crypto.randomUUID()}`,
    type: ['VerifiableCredential', 'InteropTestCredential'],
    credentialSubject: {
      name: 'Hanako Yamada',
      qualification: 'Registered Nurse',
      licenseNumber: 'RN-2026-000123'
    }
  };
}

async function main() {
  const {values} = parseArgs({options: {
    out: {type: 'string'}, credential: {type: 'string'},
    challenge: {type: 'string'}, domain: {type: 'string'},
    'jwt-style': {type: 'string', default: 'vc-jose-cose'},
    'data-model': {type: 'string', default: '2.0'},
    context: {type: 'string', multiple: true}
  }});
  await registerContextFiles(values.context);
  if(!values.out) {
    throw new Error('usage: issue.mjs --out DIR [--credential FILE] [--challenge C] ' +
      '[--domain D] [--jwt-style vc-jose-cose|vc-jwt-1.1]');
  }
  const style = values['jwt-style'];
  if(!['vc-jose-cose', 'vc-jwt-1.1'].includes(style)) {
    throw new Error(`unknown --jwt-style ${style}`);
  }
  const dataModel = values['data-model'];
  if(!['2.0', '1.1'].includes(dataModel) || (dataModel === '1.1' && style !== 'vc-jwt-1.1')) {
    throw new Error('--data-model is 2.0, or 1.1 with --jwt-style vc-jwt-1.1');
  }
  const challenge = values.challenge ?? randomBytes(16).toString('hex');
  const domain = values.domain ?? 'verifier.example';
  const now = new Date();
  await mkdir(values.out, {recursive: true});

  const issuers = {eddsa: await newDidKey('Ed25519'), ecdsa: await newDidKey('P-256')};
  const holders = {eddsa: await newDidKey('Ed25519'), ecdsa: await newDidKey('P-256')};
  const template = values.credential ?
    JSON.parse(await readFile(values.credential, 'utf8')) :
    defaultTemplate();

  const files = {};
  const write = async (name, content) => {
    await writeFile(join(values.out, name),
      typeof content === 'string' ? content + '\n' : JSON.stringify(content, null, 2) + '\n');
    files[name.replace(/\.(json|jwt)$/, '')] = name;
  };
  for(const [tag, jwtTag] of [['eddsa', 'eddsa'], ['ecdsa', 'es256']]) {
    const credential = prepareCredential(template, issuers[tag].did, now);
    // A subject without an id is the holder who presents it.
    const subject = credential.credentialSubject;
    if(subject && typeof subject === 'object' && !Array.isArray(subject) && !subject.id) {
      credential.credentialSubject = {id: holders[tag].did, ...subject};
    }
    // issueDi adds its proof to the object it is given: the JWTs get a clean copy.
    const diVc = await issueDi(structuredClone(credential), issuers[tag]);
    await write(`vc-di-${tag}.json`, diVc);
    await write(`vp-di-${tag}.json`, await presentDi([diVc], holders[tag], {challenge, domain}));
    const jwtVc = await issueJwt(credential, issuers[tag], {style, now, dataModel});
    await write(`vc-jwt-${jwtTag}.jwt`, jwtVc);
    await write(`vp-jwt-${jwtTag}.jwt`,
      await presentJwt([jwtVc], holders[tag], {challenge, domain, style}));
  }
  const manifest = {
    issuers: {ed25519: issuers.eddsa.did, p256: issuers.ecdsa.did},
    holders: {ed25519: holders.eddsa.did, p256: holders.ecdsa.did},
    challenge, domain, jwt_style: style, data_model: dataModel, files
  };
  await write('manifest.json', manifest);
  process.stdout.write(JSON.stringify(manifest) + '\n');
}

try {
  await main();
} catch(e) {
  process.stderr.write(`issue.mjs: ${e.message}\n`);
  if(process.env.INTEROP_DEBUG) {
    console.error(e, JSON.stringify(e.details ?? {}, null, 1));
  }
  process.exitCode = 2;
}
