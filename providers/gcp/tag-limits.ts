// Compute Engine label limits ("Labels overview"): at most 64 labels per
// resource, keys and values up to 63 characters. The character rules (lower
// case, starts with a letter) are checked by rules.ts.
import type { TagLimits } from "../../shared/provider";

export const GCP_TAG_LIMITS: TagLimits = { maxTags: 64, maxKeyLength: 63, maxValueLength: 63 };
