/**
 * `npm run serve -- [--port N] [--s3-port N] [--sqs-port N] [--emulator-port N] [--rest-port N] [--fast]
 * [--execution-timeout SECONDS] [--directory DIR] [--webhook] [--verbose]`
 *
 * A local Step Functions endpoint (local/sfn-endpoint.ts) with the embedded S3, the AssemblyAI
 * emulator (or the real one with ASSEMBLYAI_API_KEY), a completion queue and an intake queue
 * (its messages start executions, as with `-c intakeQueue=true`) and the REST API's two routes
 * (as with `-c restApi=true`, unsigned), for developing the bot against
 * the real SDK. When ready, stdout gets exactly one JSON line with the endpoints;
 * everything else goes to stderr. Runs until SIGINT/SIGTERM. Exit code 0 after a clean stop,
 * 1 when it cannot start, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { startLocalServices } from './sfn-endpoint.js';

const USAGE =
  'Usage: npm run serve -- [--port N] [--s3-port N] [--sqs-port N] [--emulator-port N] [--rest-port N] [--fast] [--execution-timeout SECONDS] [--directory DIR] [--webhook] [--verbose]';

const say = (line: string) => process.stderr.write(`${line}\n`);
// stdout carries only the ready line: Powertools logs (POWERTOOLS_DEV, --verbose) go to stderr too.
console.log = console.info = console.debug = console.warn = console.error;

function usageError(message: string): never {
  say(message);
  say(USAGE);
  process.exit(2);
}

function port(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) usageError(`${option} must be a port number (0-65535)`);
  return n;
}

function parseCli() {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (error) {
    usageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    say(USAGE);
    process.exit(0);
  }
  const timeout = values['execution-timeout'] === undefined ? undefined : Number(values['execution-timeout']);
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    usageError('--execution-timeout must be a positive number of seconds');
  }
  return {
    port: port(values.port, '--port'),
    s3Port: port(values['s3-port'], '--s3-port'),
    sqsPort: port(values['sqs-port'], '--sqs-port'),
    emulatorPort: port(values['emulator-port'], '--emulator-port'),
    restApiPort: port(values['rest-port'], '--rest-port'),
    fast: values.fast,
    executionTimeoutSeconds: timeout,
    directory: values.directory,
    webhook: values.webhook,
    verbose: values.verbose,
  };
}

function parseOptions() {
  return parseArgs({
    options: {
      port: { type: 'string' },
      's3-port': { type: 'string' },
      'sqs-port': { type: 'string' },
      'emulator-port': { type: 'string' },
      'rest-port': { type: 'string' },
      fast: { type: 'boolean', default: false },
      'execution-timeout': { type: 'string' },
      directory: { type: 'string' },
      webhook: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function main(): Promise<void> {
  const cli = parseCli();
  if (cli.verbose) Object.assign(process.env, { POWERTOOLS_DEV: 'true', POWERTOOLS_LOG_LEVEL: 'DEBUG' });
  const services = await startLocalServices({ ...cli, log: say }).catch((error: unknown) => {
    say(`Cannot start: ${(error as Error).message}`);
    process.exit(1);
  });
  process.stdout.write(`${services.readyLine()}\n`);
  say(
    cli.fast
      ? 'Fast mode: Wait states and retry intervals take no time.'
      : 'Wait states take their real time (--fast to skip).',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping (running executions end ABORTED)…`);
    services.close().then(
      () => {
        say('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        say(`Stopped with an error: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  say(`Serve crashed: ${(error as Error).stack ?? String(error)}`);
  process.exit(3);
});
