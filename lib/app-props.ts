import type { AppProps } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';

/**
 * The App's synth switches, set in code rather than in cdk.json: the CDK CLI warns about every
 * reserved `aws:` key in cdk.json's context ("A reserved context key ('context.aws:') key was
 * found in cdk.json"), while context given to the App itself is not checked.
 *
 * Each one saves synth time (bench/synth) and none changes a template:
 * - no construct creation stack traces (about 7% of the synth): a finding's construct path
 *   already locates it;
 * - no stack traces on metadata entries (annotations, findings), for the same reason;
 * - no tree.json: the construct tree for the console's tree view; nothing here reads it.
 *
 * `CDK_DEBUG=true` brings the creation stack traces back for one run (aws-cdk-lib records them
 * whenever its debug mode is on).
 */
export function appProps(): AppProps {
  return {
    context: { [cxapi.DISABLE_CREATION_STACK_TRACES]: true },
    stackTraces: false,
    treeMetadata: false,
  };
}
