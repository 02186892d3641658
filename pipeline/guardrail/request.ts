// The GuardrailValidation step's program: builds the request for the production account's
// guardrail validator from the Synth step's assembly (each stack of the stage: its stack name and
// the exact text of its template file), invokes the validator, prints its checks and fails unless
// it passed.
//   node pipeline/guardrail/request.ts --assembly <dir> --stage Production --release <commit>
//     --execution <pipeline execution id> --validator <function ARN>
// This is the commit's code, and may be: the validator decides from what it reads itself, and
// production's hooks admit only templates it signed (docs/enforcement.md).
// Exit 0 when the validator passed the release, 1 when it did not, 2 when it could not be asked.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { listStacks } from '../cloud-assembly.ts';

/** What the validator takes (enforcement/validator/handler.ts). */
export interface ValidationRequest {
  readonly release: { readonly commit: string; readonly executionId: string };
  /** Stack name → the template file's exact text, as in the assembly. */
  readonly templates: Record<string, string>;
}

/** What the validator answers. */
export interface ValidationResponse {
  readonly passed: boolean;
  readonly checks: ReadonlyArray<{ readonly name: string; readonly status: string; readonly detail: string }>;
  readonly envelopeKey?: string;
}

/**
 * A synchronous invocation's payload is at most 6 MB (AWS Lambda API reference, "Invoke":
 * https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
 */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

/** The request for the stacks of `stage` (construct paths `…/<stage>/<stack>`) in the assembly. */
export function buildRequest(assemblyDir: string, stage: string, release: ValidationRequest['release']): ValidationRequest {
  if (!/^[0-9a-f]{40}$/.test(release.commit)) throw new Error(`--release: expected a 40-hex git commit id, got '${release.commit}'`);
  if (!release.executionId) throw new Error('--execution: expected the pipeline execution id');
  const stacks = listStacks(assemblyDir).filter((s) => s.displayName.split('/').slice(0, -1).includes(stage));
  if (stacks.length === 0) throw new Error(`no stack of a ${stage} stage in ${assemblyDir}`);
  const templates: Record<string, string> = {};
  for (const stack of stacks) {
    if (templates[stack.stackName] !== undefined) throw new Error(`two stacks named ${stack.stackName} in the ${stage} stage`);
    templates[stack.stackName] = readFileSync(stack.templateFile, 'utf8');
  }
  return { release, templates };
}

/** The validator's answer, parsed; anything else is an error. */
export function parseResponse(payload: string): ValidationResponse {
  const parsed = JSON.parse(payload) as Partial<ValidationResponse>;
  if (typeof parsed?.passed !== 'boolean' || !Array.isArray(parsed.checks)) throw new Error(`the validator answered something else than { passed, checks }: ${payload.slice(0, 500)}`);
  return parsed as ValidationResponse;
}

/** One line per check, then the verdict. */
export function formatResponse(response: ValidationResponse): string[] {
  const lines = response.checks.map((c) => `${String(c.status).padEnd(4)} ${c.name}: ${c.detail}`);
  lines.push(response.passed ? `guardrail: PASSED${response.envelopeKey ? ` (attestation ${response.envelopeKey})` : ''}` : 'guardrail: the validator did not pass this release');
  return lines;
}

/** Invokes the validator (its region is the ARN's) and returns its answer. */
export async function invokeValidator(validatorArn: string, request: ValidationRequest, client?: LambdaClient): Promise<ValidationResponse> {
  const body = JSON.stringify(request);
  if (Buffer.byteLength(body) > MAX_REQUEST_BYTES) throw new Error(`the request is ${Buffer.byteLength(body)} bytes, above Lambda's synchronous payload limit of ${MAX_REQUEST_BYTES}`);
  const region = validatorArn.split(':')[3];
  // The validator runs up to 15 minutes: no client-side timeout shorter than that.
  const lambda = client ?? new LambdaClient({ region, requestHandler: { requestTimeout: 16 * 60 * 1000 } });
  const answer = await lambda.send(new InvokeCommand({ FunctionName: validatorArn, InvocationType: 'RequestResponse', Payload: Buffer.from(body) }));
  const payload = answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : '';
  if (answer.FunctionError) throw new Error(`the validator failed (${answer.FunctionError}): ${payload.slice(0, 1000)}`);
  return parseResponse(payload);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      assembly: { type: 'string', default: 'cdk.out' },
      stage: { type: 'string', default: 'Production' },
      release: { type: 'string' },
      execution: { type: 'string' },
      validator: { type: 'string' },
    },
  });
  let response: ValidationResponse;
  try {
    if (!values.validator) throw new Error('--validator: expected the validator function ARN');
    const request = buildRequest(values.assembly!, values.stage!, { commit: values.release ?? '', executionId: values.execution ?? '' });
    console.log(`guardrail: asking ${values.validator} about ${Object.keys(request.templates).sort().join(', ')} of ${request.release.commit}`);
    response = await invokeValidator(values.validator, request);
  } catch (error) {
    console.error(`guardrail: ${(error as Error).message}`);
    return 2;
  }
  for (const line of formatResponse(response)) console.log(line);
  return response.passed ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
