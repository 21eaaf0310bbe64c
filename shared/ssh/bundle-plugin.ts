// Keeps ssh2 on its pure-JavaScript path in `bun build --compile` output.
// ssh2 tries two optional native add-ons at load time, each inside a
// try/catch: its own crypto binding (lib/protocol/crypto/build/Release/
// sshcrypto.node, built by its install script when a compiler and node-gyp
// happen to be present) and `cpu-features`. Whether they exist depends on
// the build machine, and a bundled Node add-on is a native file the binary
// would have to extract and dlopen at run time. This plugin resolves both
// to a module that throws, so every build behaves like the tested one:
// ssh2 falls back to node:crypto and its bundled WebAssembly poly1305.
import type { BunPlugin } from "bun";

const FROM_SSH2 = /node_modules\/ssh2\//;
const STUB_NAMESPACE = "skyclust-ssh2-native-stub";

export const ssh2PureJsPlugin: BunPlugin = {
  name: "ssh2-pure-js",
  setup(build) {
    build.onResolve({ filter: /(sshcrypto\.node|^cpu-features)$/ }, (args) => {
      if (!FROM_SSH2.test(args.importer.replaceAll("\\", "/"))) return undefined;
      return { path: args.path, namespace: STUB_NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is left out of SkyClust builds (ssh2 uses its JavaScript fallback)`)});`,
      loader: "js",
    }));
  },
};
