/**
 * Validators compiled from AssemblyAI's published OpenAPI spec (test/fixtures/assemblyai/openapi.json,
 * 1.3.4), corrected only where recorded real responses disagree with it (`REAL_RESPONSE_CORRECTIONS`,
 * each with the recording that proves it). The emulator's traffic and the recordings are checked
 * against the same validators in emulator-spec.test.ts.
 */
import { readFileSync } from 'node:fs';
import Ajv2020Module, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

export const FIXTURES = new URL('../fixtures/assemblyai/', import.meta.url);

export function readFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

type Schema = Record<string, unknown> & {
  properties?: Record<string, Schema>;
  required?: string[];
};

interface OpenApi {
  components: { schemas: Record<string, Schema> };
}

/** One place where the service answers differently from its spec; `seenIn` is the recording. */
export interface Correction {
  schema: 'Transcript' | 'TranscriptListItem';
  property: string;
  kind: 'nullable' | 'empty-object' | 'undocumented' | 'not-required';
  seenIn: string;
}

const APPLY: Record<Correction['kind'], (schema: Schema, property: string) => void> = {
  nullable: (schema, property) => allowNull(schema, property),
  'empty-object': (schema, property) => allowEmptyObject(schema, property),
  undocumented: (schema, property) => addProperty(schema, property),
  'not-required': (schema, property) => notRequired(schema, property),
};

const allowNull = (schema: Schema, property: string) => {
  const original = schema.properties?.[property];
  if (original && schema.properties) schema.properties[property] = { anyOf: [original, { type: 'null' }] };
};
const allowEmptyObject = (schema: Schema, property: string) => {
  const original = schema.properties?.[property];
  if (original && schema.properties) {
    schema.properties[property] = { anyOf: [original, { type: 'object', maxProperties: 0 }] };
  }
};
const notRequired = (schema: Schema, property: string) => {
  schema.required = (schema.required ?? []).filter((name) => name !== property);
};
const addProperty = (schema: Schema, property: string) => {
  if (schema.properties) schema.properties[property] = {};
};

const NULLED_BY_THE_SERVICE: [string, string][] = [
  ['error', 'deleted.go-sdk-testdata.json, completed-universal2-no-diarization.cli-fixture.json'],
  ['language_code', 'deleted.go-sdk-testdata.json'],
  ['redact_pii_sub', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json'],
  ['topics', 'deleted.go-sdk-testdata.json'],
  ['audio_channels', 'completed-universal2-no-diarization.cli-fixture.json'],
  ['language_detection_options', 'completed-universal2-no-diarization.cli-fixture.json'],
  ['prompt', 'completed-universal2-no-diarization.cli-fixture.json'],
  ['redact_pii_audio_options', 'completed-universal2-no-diarization.cli-fixture.json'],
  ['speech_understanding', 'completed-universal2-no-diarization.cli-fixture.json'],
  ['translated_texts', 'completed-universal2-no-diarization.cli-fixture.json'],
];

/** Fields the service sends that Transcript (additionalProperties: false) does not define. */
const UNDOCUMENTED_FIELDS: [string, string][] = [
  ['dual_channel', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json, cli fixture'],
  ['word_boost', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json, cli fixture'],
  ['boost_param', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json, cli fixture'],
  ['speaker_count', 'deleted.go-sdk-testdata.json'],
  ['cluster_id', 'deleted.go-sdk-testdata.json'],
  ...[
    'webhook_auth_header_value',
    'redact_pii_return_unredacted',
    'speaker_options',
    'content_safety_confidence',
    'language_detection_results',
    'keyterms_prompt_options',
    'domain',
    'unredacted_text',
    'unredacted_words',
    'unredacted_utterances',
    'metadata',
  ].map((name): [string, string] => [name, 'completed-universal2-no-diarization.cli-fixture.json']),
];

/** Required by the spec, missing from a recorded response. */
const NOT_ALWAYS_SENT: [string, string][] = [
  ['language_model', 'completed-universal2-no-diarization.cli-fixture.json (2026)'],
  ['acoustic_model', 'completed-universal2-no-diarization.cli-fixture.json (2026)'],
  ['speech_model', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json (older API)'],
  ['language_confidence_threshold', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json (older API)'],
  ['language_confidence', 'queued.go-sdk-testdata.json, deleted.go-sdk-testdata.json (older API)'],
];

export const REAL_RESPONSE_CORRECTIONS: readonly Correction[] = [
  ...NULLED_BY_THE_SERVICE.map(([property, seenIn]) => ({
    schema: 'Transcript' as const,
    property,
    kind: 'nullable' as const,
    seenIn,
  })),
  ...['content_safety_labels', 'iab_categories_result'].map((property) => ({
    schema: 'Transcript' as const,
    property,
    kind: 'empty-object' as const,
    seenIn: 'queued.go-sdk-testdata.json',
  })),
  ...UNDOCUMENTED_FIELDS.map(([property, seenIn]) => ({
    schema: 'Transcript' as const,
    property,
    kind: 'undocumented' as const,
    seenIn,
  })),
  ...NOT_ALWAYS_SENT.map(([property, seenIn]) => ({
    schema: 'Transcript' as const,
    property,
    kind: 'not-required' as const,
    seenIn,
  })),
  {
    schema: 'TranscriptListItem',
    property: 'error',
    kind: 'not-required',
    seenIn: 'list.go-sdk-testdata.json',
  },
];

export const spec = readFixture<OpenApi>('openapi.json');

/** The spec's own `required` list of a schema, before corrections: what the emulator always sends. */
export function requiredBySpec(name: string): string[] {
  return [...(spec.components.schemas[name]?.required ?? [])];
}

/**
 * TranscriptParams as it can be satisfied: `{audio_url}` ∪ TranscriptOptionalParams, no other
 * properties. (The spec's allOf of two schemas that each forbid additional properties accepts
 * nothing, not even its own example.)
 */
function mergedTranscriptParams(schemas: Record<string, Schema>): Schema {
  const [withUrl] = (schemas.TranscriptParams?.allOf ?? []) as Schema[];
  const optional = schemas.TranscriptOptionalParams as Schema;
  return {
    type: 'object',
    additionalProperties: false,
    required: [...(withUrl?.required ?? []), ...(optional.required ?? [])],
    properties: { ...withUrl?.properties, ...optional.properties },
  };
}

function keywordsStartingWithX(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) keywordsStartingWithX(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-')) found.add(key);
      keywordsStartingWithX(value, found);
    }
  }
  return found;
}

/** `format: url` is not a JSON Schema format: an absolute http(s) URL as WHATWG parses it (the service sends `http://deleted_by_user`). */
const isHttpUrl = (value: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

export type SchemaName =
  | 'Transcript'
  | 'TranscriptList'
  | 'TranscriptListItem'
  | 'PageDetails'
  | 'TranscriptParams'
  | 'Error';

export interface SpecValidators {
  validate(name: SchemaName, value: unknown): ErrorObject[];
}

/**
 * Compiles the spec's components with ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses): `example`
 * and the `x-*` extensions are registered as annotation keywords, `url`/`float`/`double`/`uuid`/
 * `date` formats are checked; `corrected: false` gives the spec as published.
 */
export function compileSpec({ corrected = true } = {}): SpecValidators {
  const schemas = structuredClone(spec.components.schemas);
  if (corrected) {
    for (const correction of REAL_RESPONSE_CORRECTIONS) {
      const schema = schemas[correction.schema];
      if (!schema) throw new Error(`no schema ${correction.schema}`);
      APPLY[correction.kind](schema, correction.property);
    }
  }
  schemas.TranscriptParams = mergedTranscriptParams(schemas);
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  addFormats(ajv, ['uuid', 'date', 'float', 'double']);
  ajv.addFormat('url', isHttpUrl);
  ajv.addVocabulary(['example', 'components', ...keywordsStartingWithX(schemas)]);
  ajv.addSchema({ $id: 'assemblyai', components: { schemas } });
  const compiled = new Map<SchemaName, ValidateFunction>();
  return {
    validate(name, value) {
      let validator = compiled.get(name);
      if (!validator) {
        validator = ajv.getSchema(`assemblyai#/components/schemas/${name}`);
        if (!validator) throw new Error(`no schema ${name}`);
        compiled.set(name, validator);
      }
      return validator(value) ? [] : [...(validator.errors ?? [])];
    },
  };
}

/** Errors as short lines for a readable failure: `/words/0/start must be integer`. */
export const describeErrors = (errors: ErrorObject[]): string[] =>
  errors.map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
