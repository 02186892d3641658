// What the rehearsal does with each action: run it here where it can (with the
// exact tool versions the action installs), check it where it cannot, and say why.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PipelineAction, type PipelineModel, readTemplate } from './model.ts';

export type Status = 'RAN' | 'CHECKED' | 'OFFLINE' | 'FAIL';

export interface ActionResult {
  readonly action: PipelineAction;
  readonly status: Status;
  readonly detail: string;
}

/** Where the rehearsal finds the tools: the repository whose node_modules hold the pinned versions. */
export interface Toolbox {
  readonly repoRoot: string;
  /** The Synth action's commands ran in this CI run (.ci/run runs them before the rehearsal). */
  readonly synthRan: boolean;
}

/** The commands of a CodeBuild action, install phase first. */
export function commandsOf(action: PipelineAction): string[] {
  const phases = action.buildspec?.phases ?? {};
  return [...(phases.install?.commands ?? []), ...(phases.build?.commands ?? [])];
}

/** Runs or checks one action. */
export function rehearseAction(action: PipelineAction, model: PipelineModel, tools: Toolbox, cache: Map<string, string>): ActionResult {
  const result = (status: Status, detail: string) => ({ action, status, detail });
  switch (action.provider) {
    case 'CodeStarSourceConnection':
      return result('CHECKED', `the commit through the configured connection (${action.configuration.OutputArtifactFormat ?? 'CODE_ZIP'}); the connection itself needs AWS`);
    case 'Manual':
      return result('CHECKED', 'a manual approval; nothing to run');
    case 'CloudFormation':
      return cloudFormation(action, result);
    case 'CodeBuild':
      return codeBuild(action, model, tools, cache, result);
    default:
      return result('FAIL', `unknown action provider ${action.provider}: the rehearsal cannot vouch for it`);
  }
}

function cloudFormation(action: PipelineAction, result: (s: Status, d: string) => ActionResult): ActionResult {
  if (action.configuration.ActionMode === 'CHANGE_SET_EXECUTE') return result('CHECKED', `executes the change set of ${action.configuration.StackName} prepared before it; needs AWS`);
  const stack = action.deploys!;
  const expectedRole = `arn:aws:iam::${stack.account}:role/cdk-hnb659fds-cfn-exec-role-${stack.account}-${stack.region}`;
  if (action.rolesNeeded[0] !== expectedRole) return result('FAIL', `deploys ${stack.displayName} with role ${action.rolesNeeded[0]}, not the bootstrap execution role of ${stack.account}/${stack.region}`);
  const namedIam = Object.values(readTemplate(stack).Resources ?? {}).some((r: any) => /^AWS::IAM::/.test(r.Type) && (r.Properties?.RoleName || r.Properties?.ManagedPolicyName));
  const capabilities = String(action.configuration.Capabilities ?? '');
  if (namedIam && !capabilities.includes('CAPABILITY_NAMED_IAM')) return result('FAIL', `${stack.displayName} creates named IAM resources but the action lacks CAPABILITY_NAMED_IAM`);
  return result('CHECKED', `prepares ${stack.stackName} from ${stack.displayName} in the assembly, as ${stack.account}/${stack.region}'s bootstrap execution role; the deploy needs AWS`);
}

function codeBuild(action: PipelineAction, model: PipelineModel, tools: Toolbox, cache: Map<string, string>, result: (s: Status, d: string) => ActionResult): ActionResult {
  const commands = commandsOf(action);
  const done: string[] = [];
  let ran = false;
  for (const command of commands) {
    const install = /^npm install -g ((?:@[\w.-]+\/)?[\w.-]+)@([\w.-]+)$/.exec(command);
    if (install) {
      const installed = installedVersion(tools.repoRoot, install[1]);
      if (installed !== install[2]) return result('FAIL', `installs ${install[1]}@${install[2]}, but the rehearsal has ${install[1]}@${installed ?? 'nothing'}: pin the same version in package.json`);
      continue;
    }
    const publish = /^cdk-assets --path "([^"]+)" --verbose publish "([^"]+)"$/.exec(command);
    if (publish) {
      const listing = listAssets(join(model.assemblyDir, publish[1]), tools, cache);
      if (listing.error) return result('FAIL', `cdk-assets cannot read ${publish[1]}: ${listing.error}`);
      if (!listing.text.includes(publish[2])) return result('FAIL', `asset ${publish[2]} is not in ${publish[1]}`);
      done.push(`listed ${publish[2].split(':')[0].slice(0, 12)}… in ${publish[1]}`);
      ran = true;
      continue;
    }
    if (/^cdk -a \. deploy /.test(command)) {
      const error = cached(cache, `cdk-ls:${contentHash(join(model.assemblyDir, 'manifest.json'))}`, () => {
        const cdk = spawnSync(join(tools.repoRoot, 'node_modules', '.bin', 'cdk'), ['-a', model.assemblyDir, 'ls'], { encoding: 'utf8', env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' } });
        return cdk.status === 0 ? '' : tail(cdk.stderr);
      });
      if (error) return result('FAIL', `the pinned aws-cdk CLI cannot read the assembly: ${error}`);
      done.push('the pinned CLI reads the assembly (cdk ls); the deploy needs AWS');
      ran = true;
      continue;
    }
    for (const script of [...command.matchAll(/npm (?:--prefix \S+ )?run (?:--silent )?([\w:-]+)/g)].map((m) => m[1])) {
      if (!npmScripts(tools.repoRoot)[script]) return result('FAIL', `runs npm script "${script}", which package.json does not define`);
    }
  }
  if (ran) return result('RAN', done.join('; '));
  if (action.name === 'Synth') {
    return tools.synthRan
      ? result('RAN', 'its commands ran in this CI run (npm ci, typecheck, npm test, cdk synth, lint:templates, compliance), with the same pins; this assembly is their output')
      : result('CHECKED', 'its npm scripts exist; .ci/run runs the same commands');
  }
  const role = action.environment?.find((e) => e.name === 'CHECKS_ROLE_ARN')?.value;
  if (commands.some((c) => /npm run checks -- health/.test(c))) {
    return result('OFFLINE', `reads the deployed stage as ${role} (exists by then); the same command runs against local fakes of its AWS APIs in test/checks/health-cli.test.ts`);
  }
  if (commands.some((c) => /npm run checks -- deploy/.test(c))) {
    return result('OFFLINE', `checks the deployed stage as ${role} (exists by then); the same command runs end to end against the local stack in test/checks/deploy-cli.test.ts`);
  }
  return result('CHECKED', 'its npm scripts exist');
}

function installedVersion(repoRoot: string, name: string): string | undefined {
  try {
    return JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function npmScripts(repoRoot: string): Record<string, string> {
  return JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts ?? {};
}

/** `cdk-assets ls` of one manifest with the installed (pinned) publisher, once per manifest content. */
function listAssets(manifest: string, tools: Toolbox, cache: Map<string, string>): { text: string; error?: string } {
  const text = cached(cache, `ls:${contentHash(manifest)}`, () => {
    const run = spawnSync(join(tools.repoRoot, 'node_modules', '.bin', 'cdk-assets'), ['--path', manifest, 'ls'], { encoding: 'utf8' });
    return run.status === 0 ? run.stdout : `\0${tail(run.stderr || run.stdout)}`;
  });
  return text.startsWith('\0') ? { text: '', error: text.slice(1) } : { text };
}

/** A tool's answer depends only on what it reads: cache it by the content's digest. */
function cached(cache: Map<string, string>, key: string, compute: () => string): string {
  if (!cache.has(key)) cache.set(key, compute());
  return cache.get(key)!;
}

function contentHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function tail(text: string | null | undefined): string {
  const lines = String(text ?? '').trim().split('\n').filter((l) => !/^\s+at /.test(l));
  return lines.slice(-2).join(' / ').slice(0, 400);
}
