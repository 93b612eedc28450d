#!/usr/bin/env node
// Usage: node tamper.mjs FILE subject|challenge
// Prints a tampered copy of a VC or VP (Data Integrity or JWT) on stdout,
// keeping the original proof or signature, so that a verifier must reject it.
//   subject    changes a credentialSubject field (inside the VP's first
//              credential for a presentation)
//   challenge  changes the proof's challenge (DI) or the `nonce` claim (JWT)
// Exit 2 when the file cannot be tampered that way.
import {readFile} from 'node:fs/promises';
import {tamperText} from './lib/tamper.mjs';

async function main() {
  const [file, mode] = process.argv.slice(2);
  if(!file || !['subject', 'challenge'].includes(mode)) {
    throw new Error('usage: tamper.mjs FILE subject|challenge');
  }
  process.stdout.write(tamperText(await readFile(file, 'utf8'), mode));
}

try {
  await main();
} catch(e) {
  process.stderr.write(`tamper.mjs: ${e.message}\n`);
  process.exitCode = 2;
}
