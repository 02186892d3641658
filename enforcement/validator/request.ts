// The request the pipeline's GuardrailValidation step sends. Everything in it is the commit's:
// it is read defensively and only names what the validator then checks for itself.
import { z } from 'zod';
import { type StageStack } from './config.ts';

/**
 * CloudFormation's limit on a template passed by S3 URL is 1 MB (CloudFormation User Guide,
 * "Understand CloudFormation quotas": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html);
 * a synchronous Lambda invocation carries at most 6 MB of request.
 */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;

export const requestSchema = z.strictObject({
  release: z.strictObject({
    commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full git commit id: 40 lowercase hex characters'),
    // Used in an object key: CodePipeline execution ids are UUIDs.
    executionId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/, 'a pipeline execution id (letters, digits and -)'),
  }),
  templates: z.record(z.string().max(128), z.string()),
});

export type ValidationRequest = z.infer<typeof requestSchema>;

/** A production template as received: its stack, the exact bytes, and the parsed template. */
export interface ReceivedTemplate {
  readonly stack: StageStack;
  /** The UTF-8 bytes of the text received: what the attestation's digest covers. */
  readonly bytes: Buffer;
  readonly template: Record<string, unknown>;
}

/** The request's release and templates, or every reason it is refused. */
export type ParsedRequest =
  | { readonly ok: true; readonly release: ValidationRequest['release']; readonly templates: ReceivedTemplate[] }
  | { readonly ok: false; readonly problems: string[] };

/**
 * Parses the request: a 40-hex commit, an execution id, and exactly one template per
 * configured production stack (by stack name): none missing, none extra, each at most
 * MAX_TEMPLATE_BYTES and a JSON object with Resources.
 */
export function parseRequest(request: unknown, productionStacks: readonly StageStack[]): ParsedRequest {
  const result = requestSchema.safeParse(request);
  if (!result.success) return { ok: false, problems: result.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`) };
  const { release, templates } = result.data;
  const problems: string[] = [];
  const wanted = new Map(productionStacks.map((s) => [s.stackName, s]));
  for (const name of Object.keys(templates).sort()) {
    if (!wanted.has(name)) problems.push(`templates: ${JSON.stringify(name)} is not a production stack (expected ${[...wanted.keys()].join(', ')})`);
  }
  const received: ReceivedTemplate[] = [];
  for (const stack of productionStacks) {
    const text = Object.hasOwn(templates, stack.stackName) ? templates[stack.stackName] : undefined;
    if (text === undefined) {
      problems.push(`templates: the production stack ${stack.stackName} is missing`);
      continue;
    }
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > MAX_TEMPLATE_BYTES) {
      problems.push(`templates.${stack.stackName}: ${bytes.length} bytes, more than CloudFormation's ${MAX_TEMPLATE_BYTES}`);
      continue;
    }
    let template: unknown;
    try {
      template = JSON.parse(text);
    } catch (error) {
      problems.push(`templates.${stack.stackName}: not JSON (${(error as Error).message})`);
      continue;
    }
    const resources = (template as { Resources?: unknown } | null)?.Resources;
    if (template === null || typeof template !== 'object' || Array.isArray(template) || resources === null || typeof resources !== 'object' || Array.isArray(resources)) {
      problems.push(`templates.${stack.stackName}: not a CloudFormation template (a JSON object with Resources)`);
      continue;
    }
    received.push({ stack, bytes, template: template as Record<string, unknown> });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, release, templates: received };
}
