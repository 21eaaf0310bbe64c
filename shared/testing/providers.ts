// Every provider's definition, from the registry (providers/index.ts), for
// tests that run the same checks on each.
import { loadAllDefinitions } from "../../providers/index";

export const ALL_PROVIDERS = await loadAllDefinitions();
