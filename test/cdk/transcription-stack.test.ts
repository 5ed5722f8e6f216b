/**
 * The template tests of the stack, one part per concern under `stack/`. They run from this one
 * file because jest loads aws-cdk-lib and cdk-nag once per test file (about 3 s on this machine)
 * and `synth()` can then share each synthesized configuration across all parts.
 */
import './stack/storage.js';
import './stack/functions.js';
import './stack/iam.js';
import './stack/workflow.js';
import './stack/finalizer.js';
import './stack/sweeper.js';
import './stack/monitoring.js';
import './stack/outputs.js';
import './stack/webhook.js';
import './stack/intake.js';
import './stack/rest-api.js';
import './stack/provisioned.js';
import './stack/vpc.js';
import './stack/canary.js';
import './stack/nag.js';
