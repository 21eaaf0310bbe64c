// The source of a module a build plugin puts in place of one the provider
// never runs (providers/gcp/gax-rest-plugin.ts, providers/aws/
// bundle-plugin.ts), so the binary carries neither its code nor its
// bytecode. The stand-in must survive what its importers do when they load,
// and fail loudly, naming itself, on the first real use:
// - it is a CommonJS module marked __esModule (what __importStar and
//   __importDefault pass through unchanged);
// - it can be re-exported through a lazy getter, and named as a base class
//   (`class StreamProxy extends duplexify`), without being used;
// - calling it or constructing it (or a subclass) throws `message`;
// - reading one of its exports throws (`exports: "throw"`), or gives a
//   placeholder that throws when called, constructed or read further
//   (`exports: "placeholders"`, for importers that destructure the module at
//   load: `const { A, B } = require(...)`, `class X extends A`).
// It is no thenable, so awaiting or inspecting it does not throw.

export interface LeftOutOptions {
  exports: "throw" | "placeholders";
}

export function leftOutModule(message: string, opts: LeftOutOptions): string {
  return `
const message = ${JSON.stringify(message)};
const fail = () => { throw new Error(message); };
const stub = (onRead) => new Proxy(function leftOut() { fail(); }, {
  get(target, key) {
    if (key === "prototype") return target.prototype;
    if (typeof key === "symbol" || key === "then") return undefined;
    return onRead(key);
  },
  apply: fail,
  construct: fail,
});
const placeholder = stub(fail);
module.exports = stub((key) => (key === "__esModule" ? true : ${opts.exports === "placeholders" ? "placeholder" : "fail()"}));
`;
}
