/**
 * The execution input contract (lambdas/shared/contracts.ts) as a zod schema, with messages a
 * bot can show its user. Kept beside the only step that parses input, so zod is bundled into
 * "Validate audio" alone rather than into every Lambda; and written against `zod/mini`, the
 * tree-shakable functional API of the same zod 4 (about a tenth of the classic API's bundle),
 * so that Validate's cold start stays near the others' (issue 10).
 */
import * as z from 'zod/mini';
import { isLanguageCode } from '../shared/assemblyai-catalog.js';
import {
  FILE_ID_PATTERN,
  type InputPolicy,
  MAX_SPEAKERS_EXPECTED,
  parseUserId,
  s3KeyProblem,
  type TranscriptionInput,
  type TranscriptionRequest,
  userInputPrefix,
} from '../shared/contracts.js';

const POSITIVE_INTEGER = 'must be a positive integer (at most 2^53-1)';
const SPEAKERS = `must be an integer from 1 to ${MAX_SPEAKERS_EXPECTED}`;

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
      speakers_expected: z.optional(
        z.number(SPEAKERS).check(z.int(SPEAKERS), z.gte(1, SPEAKERS), z.lte(MAX_SPEAKERS_EXPECTED, SPEAKERS)),
      ),
      force: z.optional(z.boolean()),
    })
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
