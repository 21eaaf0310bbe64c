// Evaluates a CommonJS module's text the way a bundle runs it: for tests of
// the modules build plugins put in place of others (shared/left-out-module.ts).
export function loadCommonJs(text: string, requireFn: (id: string) => unknown = () => ({})): any {
  const module = { exports: {} as unknown };
  new Function("module", "exports", "require", text)(module, module.exports, requireFn);
  return module.exports;
}
