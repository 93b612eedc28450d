#!/usr/bin/env node
// Usage: node verify.mjs FILE [--challenge C] [--domain D] [--now ISO-DATETIME]
//          [--context URL=FILE]...
// Verifies a VC or VP (Data Integrity or JWT) with the @digitalbazaar/vc
// stack and jose, offline. Prints a JSON verdict on stdout.
// Exit 0 valid, 1 invalid, 2 usage or unreadable input.
import {readFile} from 'node:fs/promises';
import {parseArgs} from 'node:util';
import {forbidNetwork, registerContextFiles} from './lib/offline.mjs';
import {InputError, verifyText} from './lib/verify.mjs';

forbidNetwork();

async function main() {
  let args;
  try {
    args = parseArgs({
      allowPositionals: true,
      options: {challenge: {type: 'string'}, domain: {type: 'string'}, now: {type: 'string'},
        context: {type: 'string', multiple: true}}
    });
  } catch(e) {
    return fail(e.message);
  }
  if(args.positionals.length !== 1) {
    return fail('usage: verify.mjs FILE [--challenge C] [--domain D] [--now ISO]');
  }
  const now = args.values.now === undefined ? new Date() : new Date(args.values.now);
  if(Number.isNaN(now.getTime())) {
    return fail(`--now is not a date-time: ${args.values.now}`);
  }
  let text;
  try {
    await registerContextFiles(args.values.context);
    text = await readFile(args.positionals[0], 'utf8');
  } catch(e) {
    return fail(`cannot read input: ${e.message}`);
  }
  try {
    const verdict = await verifyText(text, {challenge: args.values.challenge,
      domain: args.values.domain, now});
    process.stdout.write(JSON.stringify(verdict) + '\n');
    return verdict.valid ? 0 : 1;
  } catch(e) {
    if(e instanceof InputError) {
      return fail(e.message);
    }
    throw e;
  }
}

function fail(message) {
  process.stdout.write(JSON.stringify({valid: false, error: message}) + '\n');
  process.stderr.write(`verify.mjs: ${message}\n`);
  return 2;
}

process.exitCode = await main();
