// EC2's tag limits (docs.aws.amazon.com, "Tag restrictions"): at most 50
// tags per resource, keys up to 128 and values up to 256 Unicode characters.
import type { TagLimits } from "../../shared/provider";

export const AWS_TAG_LIMITS: TagLimits = { maxTags: 50, maxKeyLength: 128, maxValueLength: 256 };
