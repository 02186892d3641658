// The checks' configuration, validated once: every problem is reported, each naming its variable.
import { VARIABLES, type VariableName } from './variables.ts';

export class UsageError extends Error {}

/** Where the values come from: the environment with the command-line flags laid over it. */
export type Settings = Readonly<Partial<Record<string, string | undefined>>>;

/** The environment, then the stack's outputs, then the flags, each laid over the one before (a flag wins). */
export function mergeSettings(
  env: NodeJS.ProcessEnv,
  overrides: Readonly<Partial<Record<VariableName, string>>>,
  stackOutputs: Readonly<Partial<Record<VariableName, string>>> = {},
): Settings {
  return { ...env, ...stackOutputs, ...overrides };
}

export interface DeployConfig {
  /** Without a trailing slash. */
  readonly edgeUrl: string;
  readonly distributionId: string | undefined;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly expectedVersion: string;
  readonly latencyBudgetMs: number;
  readonly latencyRequests: number;
  readonly jobBudgetSeconds: number;
  readonly versionBudgetSeconds: number;
  readonly invalidationBudgetSeconds: number;
  readonly dataBucket: string | undefined;
  readonly freshnessBudgetSeconds: number;
  readonly apiToken: string | undefined;
  /** Where the jobs check gets the token of its authenticated write (a stage); undefined: it posts with apiToken. */
  readonly oidcClient: { readonly secretId: string; readonly issuer: string; readonly audience: string } | undefined;
  /** With apiServiceName, where the `api release` check asks ECS what it did with the release; unset (a local run): SKIP. */
  readonly clusterName: string | undefined;
  readonly apiServiceName: string | undefined;
}

export interface HealthConfig {
  /** A stage that does not exist at all is SKIP, not FAIL (the first release has no production yet). */
  readonly allowMissing: boolean;
  /** Undefined only with allowMissing: that part of the stage is then reported missing. */
  readonly edgeUrl: string | undefined;
  readonly clusterName: string | undefined;
  readonly apiServiceName: string | undefined;
  readonly workerServiceName: string | undefined;
  readonly apiTargetGroupArn: string | undefined;
  /** The second target group of a blue/green, canary or linear API; undefined for a rolling one. */
  readonly apiAlternateTargetGroupArn: string | undefined;
  readonly rolloutTimeoutMinutes: number;
}

export function parseDeployConfig(settings: Settings): DeployConfig {
  const read = new SettingsReader(settings, true);
  const config: DeployConfig = {
    edgeUrl: read.httpUrl('EDGE_URL')!,
    distributionId: read.optional('DISTRIBUTION_ID'),
    queueUrl: read.url('QUEUE_URL')!,
    dlqUrl: read.url('DLQ_URL')!,
    expectedVersion: read.string('EXPECTED_VERSION')!,
    latencyBudgetMs: read.integer('LATENCY_BUDGET_MS', 500, 1, 60_000),
    latencyRequests: read.integer('LATENCY_REQUESTS', 50, 1, 10_000),
    jobBudgetSeconds: read.integer('JOB_BUDGET_SECONDS', 60, 1, 3_600),
    versionBudgetSeconds: read.integer('VERSION_BUDGET_SECONDS', 60, 0, 3_600),
    invalidationBudgetSeconds: read.integer('INVALIDATION_BUDGET_SECONDS', 600, 1, 3_600),
    dataBucket: read.optional('DATA_BUCKET'),
    freshnessBudgetSeconds: read.integer('FRESHNESS_BUDGET_SECONDS', 600, 1, 7_200),
    apiToken: read.optional('API_TOKEN'),
    oidcClient: read.oidcClient(),
    clusterName: read.optional('CLUSTER_NAME'),
    apiServiceName: read.optional('API_SERVICE_NAME'),
  };
  read.throwProblems();
  return config;
}

export function parseHealthConfig(settings: Settings, allowMissing: boolean): HealthConfig {
  const read = new SettingsReader(settings, !allowMissing);
  const config: HealthConfig = {
    allowMissing,
    edgeUrl: read.httpUrl('EDGE_URL'),
    clusterName: read.string('CLUSTER_NAME'),
    apiServiceName: read.string('API_SERVICE_NAME'),
    workerServiceName: read.string('WORKER_SERVICE_NAME'),
    apiTargetGroupArn: read.targetGroupArn('API_TARGET_GROUP_ARN'),
    apiAlternateTargetGroupArn: read.optionalTargetGroupArn('API_ALTERNATE_TARGET_GROUP_ARN'),
    rolloutTimeoutMinutes: read.integer('ROLLOUT_TIMEOUT_MINUTES', 30, 1, 1_440),
  };
  read.throwProblems();
  return config;
}

/**
 * Reads and checks one variable at a time and collects the problems, so that one run names every
 * bad variable. `required` false (health --allow-missing) lets required values be unset.
 */
class SettingsReader {
  private readonly problems: string[] = [];
  private readonly settings: Settings;
  private readonly required: boolean;

  constructor(settings: Settings, required: boolean) {
    this.settings = settings;
    this.required = required;
  }

  optional(name: VariableName): string | undefined {
    const value = this.settings[name]?.trim();
    return value === '' ? undefined : value;
  }

  string(name: VariableName): string | undefined {
    const value = this.optional(name);
    if (value === undefined && this.required) this.problems.push(`${name} is required: ${VARIABLES[name]}`);
    return value;
  }

  url(name: VariableName): string | undefined {
    const value = this.string(name);
    if (value !== undefined && !URL.canParse(value)) this.problems.push(`${name} must be a URL, got "${value}"`);
    return value;
  }

  httpUrl(name: VariableName): string | undefined {
    const value = this.url(name);
    if (value === undefined || !URL.canParse(value)) return value;
    if (!/^https?:$/.test(new URL(value).protocol)) {
      this.problems.push(`${name} must be an http:// or https:// URL, got "${value}"`);
    }
    return value.replace(/\/+$/, '');
  }

  /** OIDC_CLIENT_SECRET_ID, OIDC_ISSUER and OIDC_AUDIENCE: all three or none. */
  oidcClient(): { secretId: string; issuer: string; audience: string } | undefined {
    const secretId = this.optional('OIDC_CLIENT_SECRET_ID');
    const issuer = this.optional('OIDC_ISSUER');
    const audience = this.optional('OIDC_AUDIENCE');
    if (secretId === undefined && issuer === undefined && audience === undefined) return undefined;
    if (secretId === undefined || issuer === undefined || audience === undefined) {
      this.problems.push('OIDC_CLIENT_SECRET_ID, OIDC_ISSUER and OIDC_AUDIENCE go together: set all three or none');
      return undefined;
    }
    if (!URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) {
      this.problems.push(`OIDC_ISSUER must be an http:// or https:// URL, got "${issuer}"`);
      return undefined;
    }
    return { secretId, issuer, audience };
  }

  targetGroupArn(name: VariableName): string | undefined {
    return this.checkTargetGroupArn(name, this.string(name));
  }

  optionalTargetGroupArn(name: VariableName): string | undefined {
    return this.checkTargetGroupArn(name, this.optional(name));
  }

  private checkTargetGroupArn(name: VariableName, value: string | undefined): string | undefined {
    if (value !== undefined && !/^arn:aws[\w-]*:elasticloadbalancing:[\w-]+:\d{12}:targetgroup\/.+/.test(value)) {
      this.problems.push(`${name} must be a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/...), got "${value}"`);
    }
    return value;
  }

  integer(name: VariableName, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  }

  throwProblems(): void {
    if (this.problems.length > 0) throw new UsageError(this.problems.join('\n'));
  }
}
