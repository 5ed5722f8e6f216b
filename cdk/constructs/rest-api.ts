/**
 * The REST API (`-c restApi=true`): API Gateway with IAM (SigV4) authorization on every method, for
 * a bot that has AWS credentials for execute-api but not for Step Functions. No Lambda in between:
 *
 * - `POST /transcriptions` (body: exactly the execution input; `?attempt=N` for a retry) is an AWS
 *   integration to StartExecution under the deterministic name. The request model (below) refuses a
 *   body against the contract with 400 before anything starts; the mapping template builds the name
 *   `{user_id}-{file_id}` (attempt 1) or `{user_id}_{attempt}-{file_id}`, exactly as
 *   `executionName` does whenever that fits Step Functions' 80 characters. VTL has no SHA-256, so the
 *   hashed form of very long file ids is not computed: Step Functions refuses the over-long name
 *   with InvalidName, answered as 400 — precisely the inputs for which the client would hash.
 *   Answers: 202 `{execution_arn, execution_name, result_key}` (also for the same name and input
 *   while it runs: Step Functions returns that execution); 409 with the same fields when the name
 *   exists and has ended, or was taken by another input (StartExecution cannot tell them apart;
 *   read the result, or POST with `?attempt=2`); 429 when throttled; 400 on a bad body or name.
 * - `GET /transcriptions/{user_id}/{file_id}` is an AWS integration to S3 GetObject on
 *   `results/{user_id}/{file_id}.json`: 200 with the result (completed or failed), 404
 *   `{"status":"pending_or_unknown"}` when there is none yet. The result object is the contract's
 *   only truth about the outcome; a DescribeExecution integration would need the attempt as well.
 *
 * The integrations run under one role with exactly StartExecution on the state machine and
 * GetObject under the results prefix (ListBucket so a missing result is a 404, not a 403; Decrypt
 * through S3 with the stack key). The stage is throttled, traced with X-Ray, logs errors without
 * data and writes JSON access logs (no bodies) to a log group with the stack's retention.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  AwsIntegration,
  EndpointType,
  type JsonSchema,
  JsonSchemaType,
  JsonSchemaVersion,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Model,
  PassthroughBehavior,
  RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { LANGUAGE_CODES, PII_POLICIES } from '../../lambdas/shared/assemblyai-catalog.js';
import {
  FILE_ID_PATTERN,
  MAX_S3_KEY_BYTES,
  MAX_SPEAKERS_EXPECTED,
  OUTPUT_FORMATS,
  SPEAKER_LABEL_PATTERN,
} from '../../lambdas/shared/contracts.js';
import type { RestApiConfig } from '../config.js';
import { acknowledge, acknowledgeWildcardResources } from '../nag.js';
import { OBJECT_PREFIX_WILDCARD_REASON, type TranscriptionStorage } from './transcription-storage.js';

/** The stage the API is deployed to: part of every URL and of the bot's execute-api ARNs. */
export const REST_API_STAGE = 'v1';

/** `{user_id}`: what `parseUserId` accepts as a string, and the number range it accepts. */
const USER_ID_TEXT = '^[1-9][0-9]{0,15}$';
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The execution input contract (lambdas/validate-audio/request-schema.ts) as JSON Schema draft 4,
 * for API Gateway's request validation. Written here, not generated: the zod schema's checks are
 * functions (the per-user prefix, percent-decoded traversal, the bucket of the deployment) that
 * zod's JSON Schema export drops. test/cdk/stack/rest-api.ts runs both over the same inputs; where
 * they differ the model is looser (an s3_key under another user's folder, a percent-encoded `..`,
 * a 16-digit user id above 2^53), and such an input starts an execution that Validate fails with
 * InvalidInput, writing a failed result — never a transcription.
 */
export function transcriptionRequestModel(policy: { bucket: string; inputPrefix: string }): JsonSchema {
  return {
    schema: JsonSchemaVersion.DRAFT4,
    title: 'TranscriptionInput',
    type: JsonSchemaType.OBJECT,
    required: ['s3_key', 'user_id', 'file_id', 'bucket'],
    additionalProperties: false,
    properties: {
      s3_key: {
        type: JsonSchemaType.STRING,
        maxLength: MAX_S3_KEY_BYTES,
        // Under `{inputPrefix}{digits}/`, no control characters or backslash, no "." or ".." segment.
        pattern: `^(?!(.*/)?\\.\\.?(/|$))${escapeRegex(policy.inputPrefix)}[1-9][0-9]{0,15}/[^\\x00-\\x1f\\x7f-\\x9f\\\\]+$`,
      },
      user_id: {
        anyOf: [
          { type: JsonSchemaType.INTEGER, minimum: 1, maximum: MAX_SAFE_INTEGER },
          { type: JsonSchemaType.STRING, pattern: USER_ID_TEXT },
        ],
      },
      file_id: { type: JsonSchemaType.STRING, pattern: FILE_ID_PATTERN.source },
      bucket: { type: JsonSchemaType.STRING, enum: [policy.bucket] },
      language_code: { type: JsonSchemaType.STRING, enum: [...LANGUAGE_CODES] },
      speakers_expected: { type: JsonSchemaType.INTEGER, minimum: 1, maximum: MAX_SPEAKERS_EXPECTED },
      speakers_min: { type: JsonSchemaType.INTEGER, minimum: 1, maximum: MAX_SPEAKERS_EXPECTED },
      speakers_max: { type: JsonSchemaType.INTEGER, minimum: 1, maximum: MAX_SPEAKERS_EXPECTED },
      // Names, terms and their limits per model: Validate checks the rest (trimmed lengths, the models).
      speaker_names: {
        type: JsonSchemaType.OBJECT,
        patternProperties: { [SPEAKER_LABEL_PATTERN.source]: { type: JsonSchemaType.STRING, minLength: 1 } },
        additionalProperties: false,
      },
      keyterms: {
        type: JsonSchemaType.ARRAY,
        minItems: 1,
        uniqueItems: true,
        items: { type: JsonSchemaType.STRING, minLength: 1 },
      },
      outputs: {
        type: JsonSchemaType.ARRAY,
        minItems: 1,
        uniqueItems: true,
        items: { type: JsonSchemaType.STRING, enum: [...OUTPUT_FORMATS] },
      },
      redact_pii: { type: JsonSchemaType.BOOLEAN },
      redact_pii_policies: {
        type: JsonSchemaType.ARRAY,
        minItems: 1,
        uniqueItems: true,
        items: { type: JsonSchemaType.STRING, enum: [...PII_POLICIES] },
      },
      force: { type: JsonSchemaType.BOOLEAN },
    },
  };
}

/**
 * The fields every start answer carries, from `$arn` (an execution ARN): the name after its last
 * ":", and `results/{user_id}/{file_id}.json` from the name (only plain names reach Step Functions).
 */
function startedFieldsVtl(resultsPrefix: string): string {
  return [
    "#set($i = $arn.lastIndexOf(':') + 1)",
    '#set($name = $arn.substring($i))',
    `#set($key = $name.replaceFirst('^([0-9]+)(_[0-9]+)?-', '$1/'))`,
    `"execution_arn":"$arn","execution_name":"$name","result_key":"${resultsPrefix}\${key}.json"`,
  ].join('\n');
}

/**
 * StartExecution's request: the name from the body's user_id and file_id and `?attempt`, and the
 * body itself as the input. An attempt that is not a positive integer becomes a name Step Functions
 * refuses (a space), so it is answered 400 like an over-long name.
 */
export function startExecutionRequestTemplate(stateMachineArn: string): string {
  return [
    `#set($userId = $input.json('$.user_id').replaceAll('"', ''))`,
    `#set($fileId = $input.path('$.file_id'))`,
    // The query string's only: `$input.params('attempt')` would also take a header or path parameter.
    `#set($attempt = "$!input.params().querystring.get('attempt')")`,
    `#if($attempt == '' || $attempt == '1')`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: VTL's formal references, not a template literal
    '#set($name = "${userId}-${fileId}")',
    `#elseif($attempt.matches('[1-9][0-9]{0,8}'))`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
    '#set($name = "${userId}_${attempt}-${fileId}")',
    '#else',
    `#set($name = 'invalid attempt')`,
    '#end',
    '{',
    `  "stateMachineArn": "${stateMachineArn}",`,
    '  "name": "$name",',
    `  "input": "$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'")"`,
    '}',
  ].join('\n');
}

export function startExecutionErrorTemplate(resultsPrefix: string): string {
  return [
    "#set($type = $input.path('$.__type'))",
    '#set($message = $util.escapeJavaScript($input.path(\'$.message\')).replaceAll("\\\\\'", "\'"))',
    "#if($type.endsWith('ExecutionAlreadyExists'))",
    '#set($context.responseOverride.status = 409)',
    `#set($arn = $input.path('$.message').replaceFirst("^[^']*'([^']*)'.*$", '$1'))`,
    `{"error":"ExecutionAlreadyExists",${startedFieldsVtl(resultsPrefix)}}`,
    "#elseif($type.endsWith('ThrottlingException') || $type.endsWith('ExecutionLimitExceeded'))",
    '#set($context.responseOverride.status = 429)',
    '{"error":"Throttled","message":"$message"}',
    "#elseif($type.endsWith('InvalidName'))",
    '{"error":"InvalidExecutionName","message":"attempt must be a positive integer, and the execution name {user_id}-{file_id} (or {user_id}_{attempt}-{file_id}) at most 80 characters: longer file ids need the client\'s hashed name"}',
    "#elseif($type.endsWith('ValidationException') || $type.endsWith('InvalidExecutionInput'))",
    '{"error":"InvalidInput","message":"$message"}',
    '#else',
    '#set($context.responseOverride.status = 500)',
    '{"error":"StartFailed","message":"The execution could not be started"}',
    '#end',
  ].join('\n');
}

const JSON_TYPE = 'application/json';

/**
 * One JSON line per request: who (the signing principal), which route, the answer, latencies and
 * the integration's status, and why a request was refused. Never a body or a query string.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  user: '$context.identity.userArn',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  xrayTraceId: '$context.xrayTraceId',
  error: '$context.error.message',
  validationError: '$context.error.validationErrorString',
};

export interface TranscriptionRestApiProps {
  restApi: RestApiConfig;
  stateMachine: StateMachine;
  storage: TranscriptionStorage;
  /** `wisevoice-transcription-{environment}`: the API's name. */
  name: string;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
}

export class TranscriptionRestApi extends Construct {
  readonly api: RestApi;
  readonly role: Role;
  readonly accessLogs: LogGroup;
  /** What the bot may invoke: the two routes of the deployed stage. */
  readonly invokeArns: { start: string; result: string };

  constructor(scope: Construct, id: string, props: TranscriptionRestApiProps) {
    super(scope, id);
    const { storage, stateMachine } = props;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.api = new RestApi(this, 'Api', {
      restApiName: props.name,
      description: 'Starts transcriptions and reads their results (IAM authorization)',
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logging needs the region's API Gateway CloudWatch role (an account setting).
      cloudWatchRole: true,
      deployOptions: {
        stageName: REST_API_STAGE,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: props.restApi.rateLimit,
        throttlingBurstLimit: props.restApi.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });
    acknowledge(
      this.api,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "The account's API Gateway CloudWatch role uses AmazonAPIGatewayPushToCloudWatchLogs, AWS's policy for exactly that role: API Gateway creates its execution log groups itself, by names it chooses.",
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG3',
      'Every method needs a SigV4 signature of an IAM principal with execute-api:Invoke (the bot), and the stage is throttled; a WAF web ACL would add a monthly cost and filter nothing an unsigned caller can reach.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-COG4',
      'IAM (SigV4) authorization on every method instead of Cognito: the caller is a service (the bot) with AWS credentials, not an end user.',
    );

    this.role = new Role(this, 'IntegrationRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway integrations of the transcription REST API',
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:StartExecution'],
        resources: [stateMachine.stateMachineArn],
      }),
    );
    // ListBucket: a result that is not written yet must read as 404 (pending), not 403.
    for (const statement of storage.statementsFor([{ prefix: storage.resultsPrefix, actions: ['read'] }], {
      listBucket: true,
    })) {
      acknowledgeWildcardResources(this.role, statement, OBJECT_PREFIX_WILDCARD_REASON);
      this.role.addToPrincipalPolicy(statement);
    }

    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: {
        [JSON_TYPE]: '{"error":"InvalidInput","message":"$context.error.validationErrorString"}',
      },
    });

    const transcriptions = this.api.root.addResource('transcriptions');
    const model = new Model(this, 'TranscriptionInputModel', {
      restApi: this.api,
      contentType: JSON_TYPE,
      description: 'The execution input (docs/contracts.md)',
      schema: transcriptionRequestModel({
        bucket: storage.bucket.bucketName,
        inputPrefix: storage.inputPrefix,
      }),
    });
    const validator = new RequestValidator(this, 'BodyValidator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const errorModel = { [JSON_TYPE]: Model.EMPTY_MODEL };

    transcriptions.addMethod(
      'POST',
      new AwsIntegration({
        service: 'states',
        action: 'StartExecution',
        integrationHttpMethod: 'POST',
        options: {
          credentialsRole: this.role,
          // Only a JSON body is mapped; another content type is refused (415) before any call.
          passthroughBehavior: PassthroughBehavior.NEVER,
          requestTemplates: { [JSON_TYPE]: startExecutionRequestTemplate(stateMachine.stateMachineArn) },
          integrationResponses: [
            {
              statusCode: '202',
              selectionPattern: '200',
              responseTemplates: {
                [JSON_TYPE]: `#set($arn = $input.path('$.executionArn'))\n{${startedFieldsVtl(storage.resultsPrefix)}}`,
              },
            },
            {
              statusCode: '400',
              selectionPattern: '4\\d{2}',
              responseTemplates: { [JSON_TYPE]: startExecutionErrorTemplate(storage.resultsPrefix) },
            },
            {
              statusCode: '500',
              selectionPattern: '5\\d{2}',
              responseTemplates: {
                [JSON_TYPE]: '{"error":"StartFailed","message":"The execution could not be started"}',
              },
            },
          ],
        },
      }),
      {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestModels: { [JSON_TYPE]: model },
        requestParameters: { 'method.request.querystring.attempt': false },
        methodResponses: ['202', '400', '409', '429', '500'].map((statusCode) => ({
          statusCode,
          responseModels: errorModel,
        })),
      },
    );

    const result = transcriptions.addResource('{user_id}').addResource('{file_id}');
    result.addMethod(
      'GET',
      new AwsIntegration({
        service: 's3',
        integrationHttpMethod: 'GET',
        path: `${storage.bucket.bucketName}/${storage.resultsPrefix}{user_id}/{file_id}.json`,
        options: {
          credentialsRole: this.role,
          requestParameters: {
            'integration.request.path.user_id': 'method.request.path.user_id',
            'integration.request.path.file_id': 'method.request.path.file_id',
          },
          integrationResponses: [
            {
              statusCode: '200',
              selectionPattern: '2\\d{2}',
              responseTemplates: { [JSON_TYPE]: '$input.body' },
            },
            {
              statusCode: '404',
              selectionPattern: '404',
              responseTemplates: { [JSON_TYPE]: '{"status":"pending_or_unknown"}' },
            },
            {
              statusCode: '500',
              selectionPattern: '(40[0-35-9]|4[1-9]\\d|5\\d{2})',
              responseTemplates: {
                [JSON_TYPE]: '{"error":"ResultUnavailable","message":"The result could not be read"}',
              },
            },
          ],
        },
      }),
      {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters: {
          'method.request.path.user_id': true,
          'method.request.path.file_id': true,
        },
        methodResponses: ['200', '404', '500'].map((statusCode) => ({
          statusCode,
          responseModels: errorModel,
        })),
      },
    );

    const stage = this.api.deploymentStage;
    this.invokeArns = {
      start: this.api.arnForExecuteApi('POST', '/transcriptions', stage.stageName),
      result: this.api.arnForExecuteApi('GET', '/transcriptions/*/*', stage.stageName),
    };
  }
}
