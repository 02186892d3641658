import { readPipeline } from '../model.ts';
import { buildWorld, releaseCalls } from './index.ts';
const model = readPipeline('/work/wt/iam/cdk.out');
const world = buildWorld(model, '/work/wt/iam');
for (const c of releaseCalls(model, world, { repoRoot: '/work/wt/iam' })) if (/EdgeWaf.Prepare|Tiers.Prepare|SelfMutate|Assets\/api-id6pe9zboa_Task/.test(c.action) && c.action.startsWith('Production') || /SelfMutate|Assets\/api-id6pe9zboa_Task/.test(c.action)) console.log(c.action, c.principal.split('/').pop(), c.permission, c.resource, JSON.stringify(c.context));
