#!/usr/bin/env -S npx tsx
/** The `transcription` command (package.json `bin`): runs the operator CLI on this process's streams. */
import { runCli } from './program.js';

/** All of stdin; a terminal is refused, where the key would be echoed as it is typed. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new RangeError(
      `--key-stdin reads a pipe, not the terminal: read -rs KEY && printf '%s' "$KEY" | npm exec transcription -- … --key-stdin`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  columns: process.stdout.columns,
  readStdin,
});
process.exitCode = code;
