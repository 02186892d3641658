// `npm run ops -- <command> --stage staging|production [flags]`: day-two operations of a stage and
// of the release pipeline. See docs/operations.md.
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { trustedKeysFromKms } from '../../enforcement/attestation/index.ts';
import { attestationBucketName, S3AttestationVerifier, signingKeyAliasArn } from './attestation.ts';
import {
  clientConfig,
  OpsError,
  pipelineAccount,
  requireCredentials,
  signingKeyNames,
  stackOutputs,
  stageAccount,
  stageName,
  tiersStackName,
  UsageError,
  type Account,
} from './context.ts';
import { logs } from './logs.ts';
import { createIo, EXIT, type Io, type Result } from './output.ts';
import { redrive } from './redrive.ts';
import { releases } from './releases.ts';
import { rollback } from './rollback.ts';
import { run } from './run.ts';
import { status } from './status.ts';

const COMMANDS = {
  status: 'one screen per tier of a stage; exits 1 when something is unhealthy',
  logs: 'logs <api|worker|release-checks> [--since 10m] [--follow] [--task ID] [--filter TEXT]',
  redrive: 'dead-lettered jobs back to the queue (SQS message move task), run again; needs --yes',
  run: 'run <job-type> [payload JSON]: a one-off job through the queue, waits for its record to be final; needs --yes',
  releases: 'releases [--last N] [--window DAYS]: the pipeline executions and the delivery figures',
  rollback: 'rollback --to <commit>: production back to an earlier release (RollbackStage); needs --yes',
} as const;
type Command = keyof typeof COMMANDS;

const OPTIONS = {
  stage: { type: 'string' },
  profile: { type: 'string' },
  'pipeline-profile': { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  since: { type: 'string' },
  follow: { type: 'boolean' },
  task: { type: 'string' },
  filter: { type: 'string' },
  last: { type: 'string' },
  window: { type: 'string' },
  to: { type: 'string' },
  wait: { type: 'string' },
  'attestation-bucket': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(): string {
  return [
    'usage: npm run ops -- <command> [--stage staging|production] [flags]',
    '',
    ...Object.entries(COMMANDS).map(([name, summary]) => `  ${name.padEnd(9)}${summary}`),
    '',
    'accounts: status, logs, redrive and run use the stage account (--profile, or OPS_PROFILE);',
    '  releases uses the pipeline account (--pipeline-profile, or OPS_PIPELINE_PROFILE); rollback both',
    '  (the production account holds the guardrail attestations). Without a profile: the SDK default chain.',
    '--json: the result as JSON on stdout; progress always goes to stderr.',
    '--wait SECONDS: how long redrive, run and rollback wait (default 600).',
    'exit codes: 0 ok, 1 unhealthy / failed / refused / missing stage, credentials or stack, 2 bad usage, 3 not confirmed (add --yes)',
  ].join('\n');
}

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag} ${value}: expected a positive whole number`);
  return n;
}

/** The stage's account, its credentials checked, and its stack's outputs. */
async function stageContext(values: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const stage = stageName(values.stage as string | undefined, env);
  const account = stageAccount(stage, values.profile as string | undefined, env);
  const cloudFormation = new CloudFormationClient(clientConfig(account));
  try {
    await requireCredentials(account, cloudFormation);
    const stackName = tiersStackName(stage);
    return { stage, account, stackName, outputs: await stackOutputs(cloudFormation, stackName, account) };
  } finally {
    cloudFormation.destroy();
  }
}

async function pipelineClient(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<{ account: Account; client: CodePipelineClient }> {
  const account = pipelineAccount(values['pipeline-profile'] as string | undefined, env);
  const client = new CodePipelineClient(clientConfig(account));
  await requireCredentials(account, client);
  return { account, client };
}

async function dispatch(command: Command, positionals: string[], values: Record<string, unknown>, io: Io, signal: AbortSignal): Promise<Result> {
  const budgetMs = positiveInteger(values.wait as string | undefined, 'wait', 600) * 1000;
  const yes = values.yes === true;
  switch (command) {
    case 'status':
      return status(await stageContext(values, io.env), io);
    case 'logs': {
      const context = await stageContext(values, io.env);
      return logs(
        { ...context, source: positionals[0], since: (values.since as string | undefined) ?? '10m', follow: values.follow === true, task: values.task as string | undefined, filter: values.filter as string | undefined, signal },
        io,
      );
    }
    case 'redrive':
      return redrive({ ...(await stageContext(values, io.env)), yes, budgetMs }, io);
    case 'run':
      return run({ ...(await stageContext(values, io.env)), jobType: positionals[0], payload: positionals[1], yes, budgetMs }, io);
    case 'releases': {
      const { client } = await pipelineClient(values, io.env);
      try {
        return await releases(client, positiveInteger(values.last as string | undefined, 'last', 10), positiveInteger(values.window as string | undefined, 'window', 30), io);
      } finally {
        client.destroy();
      }
    }
    case 'rollback': {
      if (values.stage !== undefined && values.stage !== 'production') throw new UsageError(`rollback: only production rolls back through the pipeline (--stage ${String(values.stage)})`);
      const { client } = await pipelineClient(values, io.env);
      const production = stageAccount('production', values.profile as string | undefined, io.env);
      let s3: S3Client | undefined;
      const kms: KMSClient[] = [];
      try {
        return await rollback(
          {
            to: values.to as string | undefined,
            yes,
            codePipeline: client,
            budgetMs,
            attestations: async () => {
              s3 = new S3Client(clientConfig(production));
              await requireCredentials(production, s3);
              const bucket = (values['attestation-bucket'] as string | undefined) ?? io.env.OPS_ATTESTATION_BUCKET ?? attestationBucketName(production.account, production.region);
              // The guardrail's public keys, from KMS with the production profile (two during a rotation).
              const aliases = signingKeyNames().map((name) => signingKeyAliasArn(production.account, production.region, name));
              return new S3AttestationVerifier(s3, bucket, () => trustedKeysFromKms(aliases, (region) => kms[kms.push(new KMSClient({ ...clientConfig(production), region })) - 1]!));
            },
          },
          io,
        );
      } finally {
        client.destroy();
        s3?.destroy();
        for (const client of kms) client.destroy();
      }
    }
  }
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`ops: ${error instanceof Error ? error.message : String(error)}\n(npm run ops -- --help for usage)\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${usage()}\n`);
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
  }
  if (!Object.hasOwn(COMMANDS, command)) {
    process.stderr.write(`ops: unknown command "${command}": expected one of ${Object.keys(COMMANDS).join(', ')}\n`);
    return EXIT.usage;
  }
  const io = createIo(values.json === true, env);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await dispatch(command as Command, rest, values, io, abort.signal);
    if (io.json) process.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
    else if (result.text) process.stdout.write(`${result.text}\n`);
    return result.exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ops: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof OpsError) {
      process.stderr.write(`ops: ${error.message}\n`);
      return EXIT.failed;
    }
    // An AWS error the command did not expect (access denied, throttling, a network failure): one line.
    const name = error instanceof Error ? error.name : 'Error';
    process.stderr.write(`ops: ${command} failed: ${name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    return EXIT.failed;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
