// compareJson's key pairing: stage names are set aside in keys that differ by stage (logical ids
// made from construct paths), never in a key both sides hold as it is (a CloudFormation property).
import { describe, expect, it } from 'vitest';
import { compareJson, lines, newDifferences, type CompareRules } from '../../pipeline/guardrail/structure.js';

const stageNames = (stage: string) => (key: string) => key.split(stage).join('<Stage>');
const rules: CompareRules = { equal: () => false, keyA: stageNames('Staging'), keyB: stageNames('Production') };

function differences(a: unknown, b: unknown): string[] {
  const into = newDifferences();
  compareJson(a, b, '', rules, into);
  return lines(into);
}

describe('compareJson keys', () => {
  it('pairs a key that holds a stage name but is the same on both sides (ECS ProductionListenerRule)', () => {
    expect(differences({ ProductionListenerRule: { Ref: 'Rule' } }, { ProductionListenerRule: { Ref: 'Rule' } })).toEqual([]);
  });

  it('pairs keys that differ only by the stage name', () => {
    expect(differences({ BucketStaging1: 1 }, { BucketProduction1: 1 })).toEqual([]);
  });

  it('still reports a key on one side only, and a value that differs under a shared key', () => {
    expect(differences({ ProductionListenerRule: 'a' }, {})).toEqual(['/ProductionListenerRule: only in staging']);
    expect(differences({ ProductionListenerRule: 'a' }, { ProductionListenerRule: 'b' })).toEqual(['/ProductionListenerRule: staging has "a", production "b"']);
  });
});
