// The statement of what may differ between stages: its schema and loader, the configuration-level
// check, and the synth's early refusal with the validator's own sentence.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { AllowancesError, checkStageSettings, loadAllowances, parseAllowances, sameSettingMessage } from '../../enforcement/allowances';
import { compareStages } from '../../enforcement/parity/index';
import { ConfigError, configSchema, loadConfig } from '../../lib/config';
import { buildStages, cdkJsonContext, REPO_ROOT } from '../support/app';

const FILE = join(REPO_ROOT, 'enforcement/allowances.json');
const allowances = loadAllowances(FILE);
const scratch = mkdtempSync(join(tmpdir(), 'allowances-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The leaf keys of a zod object schema (through optional, default, transform and intersection wrappers). */
function stageSchemaKeys(schema: unknown, prefix = ''): string[] {
  let inner = schema as { _zod: { def: Record<string, any> } };
  for (;;) {
    const def = inner._zod.def;
    if (def.innerType) inner = def.innerType;
    else if (def.type === 'pipe') inner = def.in;
    else break;
  }
  const def = inner._zod.def;
  if (def.type === 'intersection') return [...stageSchemaKeys(def.left, prefix), ...stageSchemaKeys(def.right, prefix)];
  if (def.type === 'object') return Object.entries<unknown>(def.shape).flatMap(([k, v]) => stageSchemaKeys(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

function configError(overrides: Record<string, unknown>): string | undefined {
  try {
    loadConfig({ ...cdkJsonContext(), ...overrides });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('the statement', () => {
  it('loads, and names every key of a stage\'s configuration once: may differ, or must be the same', () => {
    const listed = [...allowances.differ, ...allowances.same].map((s) => s.key);
    expect(new Set(listed).size).toBe(listed.length);
    // Every key of the stage schema is decided (a key added to lib/config.ts fails here until it is),
    // and every key the statement names is one of the schema's.
    const keys = stageSchemaKeys(configSchema.shape.staging);
    expect(keys.length).toBeGreaterThan(30);
    const decided = (key: string) => listed.some((l) => key === l || key.startsWith(`${l}.`));
    expect(keys.filter((key) => !decided(key))).toEqual([]);
    expect(listed.filter((l) => !keys.some((key) => key === l || key.startsWith(`${l}.`)))).toEqual([]);
  });

  it('refuses an unreadable or invalid statement with the file and each bad key', () => {
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(FILE, 'utf8')), differ: [{ key: 'api.cpu', why: '' }, { key: 'api.cpu', why: 'x', lands: [{ path: 'Cpu' }] }] }));
    expect(() => loadAllowances(bad)).toThrow(AllowancesError);
    expect(() => loadAllowances(bad)).toThrow(/bad\.json: invalid allowances:\n {2}- differ\.0\.why: .*\n {2}- differ\.1\.lands\.0: expected exactly one of type and output\n {2}- differ\.1\.key: api\.cpu is listed twice/);
    writeFileSync(bad, '{ not json');
    expect(() => loadAllowances(bad)).toThrow(/bad\.json: not JSON/);
    expect(() => loadAllowances(join(scratch, 'missing.json'))).toThrow(/missing\.json: cannot read the allowances/);
    expect(() => parseAllowances({ ...allowances, version: 2 })).toThrow(/version: /);
    expect(() => parseAllowances({ ...allowances, differ: [{ key: 'x', why: 'y', resources: [{ type: 'AWS::SNS::Subscription', logicalId: '(' }] }] })).toThrow(
      /differ\.0\.resources\.0\.logicalId: expected a JavaScript regular expression/,
    );
  });
});

describe('checkStageSettings', () => {
  const { staging, production } = loadConfig(cdkJsonContext());

  it('accepts the shipped stages', () => {
    expect(checkStageSettings(staging, production, allowances)).toEqual([]);
  });

  it('accepts what may differ, whatever its shape (a schedule list, an optional domain)', () => {
    const edited = structuredClone(production);
    Object.assign(edited.worker, { schedules: [], maxReceiveCount: 5, cpu: 4096 });
    Object.assign(edited.edge, { domainName: 'data.example.com', certificateArn: 'arn:aws:acm:us-east-1:333333333333:certificate/x', priceClass: 'PriceClass_100' });
    edited.availabilityZones = ['eu-central-1a', 'eu-central-1b'];
    edited.region = 'eu-central-1';
    expect(checkStageSettings(staging, edited, allowances)).toEqual([]);
  });

  it('refuses each key that must be the same once, with its reason and both values', () => {
    const edited = structuredClone(production);
    edited.api.deployment.strategy = 'LINEAR';
    edited.alarms.api5xxPercent = 50;
    edited.auth.oidcIssuer = 'https://idp.attacker.example/';
    expect(checkStageSettings(staging, edited, allowances)).toEqual([
      `${sameSettingMessage(allowances.same.find((s) => s.key === 'alarms.api5xxPercent')!)} (staging 5, production 50)`,
      `${sameSettingMessage(allowances.same.find((s) => s.key === 'api.deployment.strategy')!)} (staging "CANARY", production "LINEAR")`,
      `${sameSettingMessage(allowances.same.find((s) => s.key === 'auth.oidcIssuer')!)} (staging "https://auth.example.com/", production "https://idp.attacker.example/")`,
    ]);
  });

  it('refuses a key the statement does not name', () => {
    expect(checkStageSettings({ somethingNew: 1 }, { somethingNew: 2 }, allowances)).toEqual([
      'somethingNew must be the same in staging and production: enforcement/allowances.json does not list it as a setting that may differ (staging 1, production 2)',
    ]);
  });
});

describe('the synth\'s early check', () => {
  it('refuses a production-only strategy with the sentence the validator gives for the template', () => {
    const message = configError({ 'production.api.deployment.strategy': 'LINEAR' })!;
    // The validator's reason for the same change, found in the templates.
    const { staging, production } = buildStages();
    const templates = (stage: typeof staging) => ({ Tiers: Template.fromStack(stage.tiersStack).toJSON() });
    const edited = templates(production);
    const service = Object.values<any>(edited.Tiers.Resources).find((r) => r.Type === 'AWS::ECS::Service' && r.Properties.DeploymentConfiguration.Strategy);
    service.Properties.DeploymentConfiguration.Strategy = 'LINEAR';
    const validator = compareStages({
      staging: { account: staging.account!, region: staging.region!, templates: templates(staging) },
      production: { account: production.account!, region: production.region!, templates: edited },
      allowances,
    });
    expect(validator.differences).toHaveLength(1);
    const lines = message.split('\n');
    expect(lines).toEqual(['Invalid br-fagq2 configuration (cdk.json context, or -c overrides):', `  - ${validator.differences[0]!.why} (staging "CANARY", production "LINEAR")`]);
  });

  it('refuses the guardrail issue\'s production-only tolerances one line each', () => {
    const message = configError({
      'production.auth.oidcIssuer': 'https://idp.attacker.example/',
      'production.edge.rateLimitPer5Minutes': '2000000000',
      'production.alarms.apiP99LatencyMs': '60000',
      'production.api.deployment.trafficStepPercent': '100',
    })!;
    expect(message.split('\n').slice(1).map((l) => /^ {2}- (\S+) must be the same in staging and production/.exec(l)?.[1])).toEqual([
      'alarms.apiP99LatencyMs',
      'api.deployment.trafficStepPercent',
      'auth.oidcIssuer',
      'edge.rateLimitPer5Minutes',
    ]);
  });

  it('accepts the report\'s configurations that may differ', () => {
    expect(
      configError({
        'staging.deletionProtection': 'false',
        'production.data.refreshMinutes': '5',
        'staging.worker.maxReceiveCount': '5',
        'staging.edge.priceClass': 'PriceClass_100',
        'staging.alarms.email': 'staging-team@example.com',
        'staging.availabilityZones': '["eu-west-1a","eu-west-1b"]',
        'staging.worker.schedules': '[]',
        'staging.auth.oidcAudience': 'br-fagq2-api-staging',
        'production.region': 'eu-central-1',
        'production.availabilityZones': '["eu-central-1a","eu-central-1b","eu-central-1c"]',
        'production.cloudFrontPrefixListId': 'pl-a3a144ca',
      }),
    ).toBeUndefined();
  });
});
