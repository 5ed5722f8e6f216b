/** `npm run emulator`: runs the AssemblyAI emulator on its own until Ctrl-C. */
import { parseArgs } from 'node:util';
import { type Fault, startEmulator } from './emulator.js';
import { parseFaultSpec } from './faults.js';

const USAGE = `Usage: npm run emulator -- [--port 8787] [--api-key emulator-key] [--delay-ms 1500]
                            [--webhook-delay-ms 0] [--webhook-retry-delay-ms 10000]
                            [--webhook-timeout-ms 10000]
                            [--fault <kind>[:param]]... [--seed 1] [--spoken-language en] [--verbose]
Fault kinds: rate-limit[:retry-after-seconds]  server-error[:500|502|503]  drop-connection
             slow[:delay-ms]  lose-response  transcript-error[:message]  never-complete
             malformed-answer[:empty-object|json-string|html|no-status|unknown-status]
             huge-error[:job|http]  malformed-transcript[:null-fields|missing-end|negative-times]
             refuse-delete-while-processing
             webhook-lost  webhook-repeat[:2-10]  webhook-delay[:delay-ms]`;

function parseNonNegativeInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new RangeError(`--${flag} must be a non-negative integer`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'api-key': { type: 'string' },
      'delay-ms': { type: 'string' },
      'webhook-delay-ms': { type: 'string' },
      'webhook-retry-delay-ms': { type: 'string' },
      'webhook-timeout-ms': { type: 'string' },
      fault: { type: 'string', multiple: true },
      seed: { type: 'string' },
      'spoken-language': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const faults: Fault[] = (values.fault ?? []).map(parseFaultSpec);
  const emulator = await startEmulator({
    port: parseNonNegativeInteger('port', values.port, 8787),
    apiKey: values['api-key'] ?? 'emulator-key',
    processingDelayMs: parseNonNegativeInteger('delay-ms', values['delay-ms'], 1500),
    webhookDelayMs: parseNonNegativeInteger('webhook-delay-ms', values['webhook-delay-ms'], 0),
    webhookRetryDelayMs: parseNonNegativeInteger(
      'webhook-retry-delay-ms',
      values['webhook-retry-delay-ms'],
      10_000,
    ),
    webhookTimeoutMs: parseNonNegativeInteger('webhook-timeout-ms', values['webhook-timeout-ms'], 10_000),
    seed: parseNonNegativeInteger('seed', values.seed, 1),
    faults,
    spokenLanguage: values['spoken-language'],
    verbose: values.verbose,
  });

  console.log(`AssemblyAI emulator listening on ${emulator.url}`);
  if (faults.length > 0) console.log(`Faults: ${faults.map((f) => f.kind).join(', ')}`);
  console.log('Point the workflow at it with:');
  const shownKey = values['api-key'] === undefined ? emulator.apiKey : '<the --api-key value>';
  console.log(
    `  ASSEMBLYAI_BASE_URL=${emulator.url} ASSEMBLYAI_API_KEY=${shownKey} npm start -- <audio-file>`,
  );
  console.log('Press Ctrl-C to stop.');

  const stop = (signal: NodeJS.Signals) => {
    console.log(`\n${signal}: stopping the emulator`);
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(2);
});
