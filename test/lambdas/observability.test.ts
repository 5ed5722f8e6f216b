/**
 * The `logLevel` deployment setting: Lambda with JSON logs sets AWS_LAMBDA_LOG_LEVEL (its own
 * filter, INFO so that metric lines pass), and the step's Logger must still log at the level the
 * stack put in POWERTOOLS_LOG_LEVEL.
 */
import { createStepTools } from '../../lambdas/shared/observability.js';

const SAVED = { ...process.env };

afterEach(() => {
  process.env = { ...SAVED };
});

function asLambdaSetsIt(env: Record<string, string>) {
  delete process.env.POWERTOOLS_DEV;
  Object.assign(process.env, {
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...env,
  });
}

describe('createStepTools', () => {
  it.each([
    ['WARN', 'INFO'],
    ['ERROR', 'INFO'],
    ['WARN', 'DEBUG'],
  ])('logs at POWERTOOLS_LOG_LEVEL=%s although Lambda sets AWS_LAMBDA_LOG_LEVEL=%s', (level, lambdaLevel) => {
    asLambdaSetsIt({ POWERTOOLS_LOG_LEVEL: level, AWS_LAMBDA_LOG_LEVEL: lambdaLevel });

    const { logger } = createStepTools('validate-audio');

    expect(logger.getLevelName()).toBe(level);
    expect(process.env.AWS_LAMBDA_LOG_LEVEL).toBe(lambdaLevel);
  });

  it('writes no INFO line at WARN', () => {
    asLambdaSetsIt({ POWERTOOLS_LOG_LEVEL: 'WARN', AWS_LAMBDA_LOG_LEVEL: 'INFO' });
    const { logger } = createStepTools('submit-transcription');
    const lines: string[] = [];
    // The Logger prints through its own Console (one per Logger, on process.stdout).
    const output = (logger as unknown as { console: Record<string, (line: string) => void> }).console;
    for (const method of ['info', 'warn', 'log', 'error', 'debug']) {
      output[method] = (line: string) => {
        lines.push(line);
      };
    }

    logger.info('Step succeeded');
    logger.warn('Step failed');

    expect(lines.join('\n')).not.toContain('Step succeeded');
    expect(lines.join('\n')).toContain('Step failed');
  });

  it('follows Lambda when POWERTOOLS_LOG_LEVEL is not set', () => {
    asLambdaSetsIt({ AWS_LAMBDA_LOG_LEVEL: 'ERROR' });
    delete process.env.POWERTOOLS_LOG_LEVEL;

    expect(createStepTools('record-failure').logger.getLevelName()).toBe('ERROR');
  });
});
