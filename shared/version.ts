// The version reported by --version and GetProviderInfo. Release builds
// define SKYCLUST_BUILD_VERSION (package.json version or git tag); a source
// run reads package.json.
import pkg from "../package.json" with { type: "json" };

declare const SKYCLUST_BUILD_VERSION: string | undefined;

export const VERSION: string = typeof SKYCLUST_BUILD_VERSION === "string" ? SKYCLUST_BUILD_VERSION : pkg.version;
