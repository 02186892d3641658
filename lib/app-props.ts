import type { AppProps } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';

/**
 * The App's synth switches, set in code rather than in cdk.json: the CDK CLI warns about every
 * reserved `aws:` key in cdk.json's context ("A reserved context key ('context.aws:') key was
 * found in cdk.json"), while context given to the App itself is not checked.
 *
 * No construct creation stack traces: collecting one per construct cost about 7% of the synth, and
 * a finding's construct path already locates it. `CDK_DEBUG=true` turns them back on for one run
 * (aws-cdk-lib records them whenever its debug mode is on).
 */
export function appProps(): AppProps {
  return { context: { [cxapi.DISABLE_CREATION_STACK_TRACES]: true } };
}
