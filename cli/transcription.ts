#!/usr/bin/env -S npx tsx
/** The `transcription` command (package.json `bin`): runs the operator CLI on this process's streams. */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  columns: process.stdout.columns,
});
process.exitCode = code;
