// Every provider's full definition, loaded once, for tests that run the
// same checks on each (the shared server's suites among them). It lives
// here, not in shared/testing/, because shared/ imports no provider
// (shared/layering.test.ts): the tests compose the layers, the layers do not.
import { loadAllDefinitions } from "./index";

export const ALL_PROVIDERS = await loadAllDefinitions();
