import { BundlingOptions, DockerImage } from 'aws-cdk-lib';

/**
 * An asset's bundling done in process by `write` (esbuild, file copies), never in Docker: the
 * image is never used, as local bundling always succeeds or throws.
 */
export function localBundling(write: (outputDir: string) => void): BundlingOptions {
  return {
    image: DockerImage.fromRegistry('scratch'),
    local: {
      tryBundle(outputDir: string): boolean {
        write(outputDir);
        return true;
      },
    },
  };
}
