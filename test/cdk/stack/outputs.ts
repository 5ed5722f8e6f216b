/** What the bot and ops copy from the stack outputs. */
import { logicalId, synth } from '../synth.js';

describe('TranscriptionStack outputs', () => {
  it('publishes the state machine, bucket, topic, secret and bot policy', () => {
    const { json } = synth();
    const outputs = json.Outputs ?? {};

    expect(outputs.StateMachineArn?.Value).toEqual({
      Ref: logicalId(json, 'AWS::StepFunctions::StateMachine'),
    });
    expect(outputs.BucketName?.Value).toEqual({ Ref: logicalId(json, 'AWS::S3::Bucket') });
    expect(outputs.AlarmTopicArn?.Value).toEqual({ Ref: logicalId(json, 'AWS::SNS::Topic') });
    expect(outputs.ApiKeySecretId?.Value).toEqual({ Ref: logicalId(json, 'AWS::SecretsManager::Secret') });
    expect(outputs.BotAccessPolicyArn?.Value).toEqual({ Ref: logicalId(json, 'AWS::IAM::ManagedPolicy') });
  });

  it('publishes the completion queue the bot consumes', () => {
    const { json } = synth();
    const queue = logicalId(json, 'AWS::SQS::Queue', (r) => r.Properties.RedrivePolicy !== undefined);

    expect(json.Outputs?.CompletionQueueUrl?.Value).toEqual({ Ref: queue });
    expect(json.Outputs?.CompletionQueueArn?.Value).toEqual({ 'Fn::GetAtt': [queue, 'Arn'] });
  });

  it("gives the bot's environment variables ready to paste", () => {
    const { json } = synth();
    const outputs = json.Outputs ?? {};
    const bucket = { Ref: logicalId(json, 'AWS::S3::Bucket') };
    const stateMachine = { Ref: logicalId(json, 'AWS::StepFunctions::StateMachine') };

    expect(outputs.BotUseTranscriptionMicroservice?.Value).toBe('USE_TRANSCRIPTION_MICROSERVICE=true');
    expect(outputs.BotTranscriptionS3Bucket?.Value).toEqual({
      'Fn::Join': ['', ['TRANSCRIPTION_S3_BUCKET=', bucket]],
    });
    expect(outputs.BotTranscriptionStateMachineArn?.Value).toEqual({
      'Fn::Join': ['', ['TRANSCRIPTION_STATE_MACHINE_ARN=', stateMachine]],
    });
    expect(outputs.BotAwsRegion?.Value).toEqual({
      'Fn::Join': ['', ['AWS_REGION=', { Ref: 'AWS::Region' }]],
    });
    expect(outputs.BotEnvironment?.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'USE_TRANSCRIPTION_MICROSERVICE=true TRANSCRIPTION_S3_BUCKET=',
          bucket,
          ' TRANSCRIPTION_STATE_MACHINE_ARN=',
          stateMachine,
          ' AWS_REGION=',
          { Ref: 'AWS::Region' },
          ' TRANSCRIPTION_COMPLETION_QUEUE_URL=',
          {
            Ref: logicalId(json, 'AWS::SQS::Queue', (r) =>
              JSON.stringify(r.Properties).includes('RedrivePolicy'),
            ),
          },
        ],
      ],
    });
  });

  it('names an existing bucket and secret as given', () => {
    const { json } = synth({ existingBucketName: 'team-audio', existingSecretName: 'team/assemblyai' });

    expect(json.Outputs?.BucketName?.Value).toBe('team-audio');
    expect(json.Outputs?.BotTranscriptionS3Bucket?.Value).toBe('TRANSCRIPTION_S3_BUCKET=team-audio');
    expect(json.Outputs?.ApiKeySecretId?.Value).toBe('team/assemblyai');
  });
});
