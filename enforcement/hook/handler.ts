// PLACEHOLDER (C2's branch only): the bundler needs an entry file to synthesize the enforcement
// stack. The real handler comes from the hook branch at merge; take that one.
export async function handler(): Promise<never> {
  throw new Error('not built yet');
}
