/**
 * The execution input contract (lambdas/shared/contracts.ts) as a zod schema, with messages a
 * bot can show its user. Kept beside the only step that parses input, so zod is bundled into
 * "Validate audio" alone rather than into every Lambda; and written against `zod/mini`, the
 * tree-shakable functional API of the same zod 4 (about a tenth of the classic API's bundle),
 * so that Validate's cold start stays near the others' (issue 10).
 */
import * as z from 'zod/mini';
import { isLanguageCode, isPiiPolicy } from '../shared/assemblyai-catalog.js';
import {
  FILE_ID_PATTERN,
  type InputPolicy,
  MAX_SPEAKER_NAME_LENGTH,
  MAX_SPEAKERS_EXPECTED,
  OUTPUT_FORMATS,
  parseUserId,
  SPEAKER_LABEL_PATTERN,
  s3KeyProblem,
  type TranscriptionInput,
  type TranscriptionRequest,
  userInputPrefix,
} from '../shared/contracts.js';

const POSITIVE_INTEGER = 'must be a positive integer (at most 2^53-1)';
const SPEAKERS = `must be an integer from 1 to ${MAX_SPEAKERS_EXPECTED}`;

const speakerCount = () =>
  z.optional(
    z.number(SPEAKERS).check(z.int(SPEAKERS), z.gte(1, SPEAKERS), z.lte(MAX_SPEAKERS_EXPECTED, SPEAKERS)),
  );

/** Control characters and line or paragraph separators: a name or term is one line of text. */
const NOT_ONE_LINE = /[\p{Cc}\u2028\u2029]/u;
const NAME = `must map AssemblyAI's speaker letters ("A", "B", …) to names of 1-${MAX_SPEAKER_NAME_LENGTH} characters on one line`;
const KEYTERMS = 'must be a list of 1 or more distinct words or phrases, each one line of text';
const OUTPUT_FORMAT = `must be one of ${OUTPUT_FORMATS.map((f) => `"${f}"`).join(', ')}`;
const OUTPUTS = `must be a list of distinct formats among ${OUTPUT_FORMATS.map((f) => `"${f}"`).join(', ')}`;

const speakerNames = z.pipe(
  z.record(z.string(), z.string(NAME), NAME),
  z.transform((names, ctx) => {
    const entries = Object.entries(names).map(([label, name]) => [label, name.trim()] as const);
    const valid = entries.every(
      ([label, name]) =>
        SPEAKER_LABEL_PATTERN.test(label) &&
        name !== '' &&
        name.length <= MAX_SPEAKER_NAME_LENGTH &&
        !NOT_ONE_LINE.test(name),
    );
    if (!valid) {
      ctx.issues.push({ code: 'custom', message: NAME, input: names });
      return z.NEVER;
    }
    return Object.fromEntries(entries);
  }),
);

const keyterms = z.pipe(
  z.array(z.string(KEYTERMS), KEYTERMS),
  z.transform((terms, ctx) => {
    const trimmed = terms.map((t) => t.trim().replace(/\s+/g, ' '));
    if (
      trimmed.length === 0 ||
      trimmed.some((t) => !t || NOT_ONE_LINE.test(t)) ||
      new Set(trimmed).size !== trimmed.length
    ) {
      ctx.issues.push({ code: 'custom', message: KEYTERMS, input: terms });
      return z.NEVER;
    }
    return trimmed;
  }),
);

const outputs = z
  .array(z.enum(OUTPUT_FORMATS, OUTPUT_FORMAT), OUTPUTS)
  .check(z.refine((list) => list.length > 0 && new Set(list).size === list.length, OUTPUTS));

const POLICIES = 'must be a list of distinct AssemblyAI PII policies (e.g. "person_name", "phone_number")';
const piiPolicies = z
  .array(z.string(POLICIES), POLICIES)
  .check(
    z.refine(
      (list) => list.length > 0 && new Set(list).size === list.length && list.every(isPiiPolicy),
      POLICIES,
    ),
  );

const userId = z.pipe(
  z.union([z.number(), z.string()], POSITIVE_INTEGER),
  z.transform((value, ctx) => {
    const parsed = parseUserId(value);
    if (parsed === undefined) {
      ctx.issues.push({ code: 'custom', message: POSITIVE_INTEGER, input: value });
      return z.NEVER;
    }
    return parsed;
  }),
);

/** The execution input schema for a given deployment (bucket and input prefix). */
export function transcriptionRequestSchema(
  policy: InputPolicy,
): z.ZodMiniType<TranscriptionRequest, TranscriptionInput> {
  return z
    .strictObject({
      s3_key: z.string().check(
        z.superRefine((key, ctx) => {
          const problem = s3KeyProblem(key, policy.inputPrefix);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      ),
      user_id: userId,
      file_id: z
        .string()
        .check(z.regex(FILE_ID_PATTERN, 'must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"')),
      bucket: z
        .string()
        .check(z.refine((b) => b === policy.bucket, 'is not the bucket this workflow serves')),
      language_code: z.optional(
        z
          .string()
          .check(
            z.refine(
              isLanguageCode,
              'is not a language code AssemblyAI publishes (e.g. "ru", "en", "en_us", "en_uk"; see its supported languages)',
            ),
          ),
      ),
      speakers_expected: speakerCount(),
      speakers_min: speakerCount(),
      speakers_max: speakerCount(),
      speaker_names: z.optional(speakerNames),
      keyterms: z.optional(keyterms),
      outputs: z.optional(outputs),
      redact_pii: z.optional(z.boolean()),
      redact_pii_policies: z.optional(piiPolicies),
      force: z.optional(z.boolean()),
    })
    .check(
      z.superRefine((request, ctx) => {
        const { speakers_expected: exact, speakers_min: min, speakers_max: max } = request;
        if (exact !== undefined && (min !== undefined || max !== undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: ['speakers_expected'],
            message: 'must not be given with speakers_min or speakers_max: give an exact count or a range',
          });
        } else if (min !== undefined && max !== undefined && min > max) {
          ctx.addIssue({ code: 'custom', path: ['speakers_min'], message: 'must not be above speakers_max' });
        }
        if (request.redact_pii === false && request.redact_pii_policies !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['redact_pii_policies'],
            message: 'must not be given with redact_pii false',
          });
        }
      }),
    )
    .check(
      z.superRefine((request, ctx) => {
        if (policy.inputPerUser === false) return;
        const own = userInputPrefix(policy.inputPrefix, request.user_id);
        if (request.s3_key.startsWith(own) && request.s3_key.length > own.length) return;
        ctx.addIssue({
          code: 'custom',
          path: ['s3_key'],
          message: `must be an object under "${own}", the user's own uploads`,
        });
      }),
    );
}
