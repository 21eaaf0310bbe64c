// Tags become Nova server metadata: at most 128 items (Nova's default
// metadata_items quota), keys and values up to 255 characters (the API
// schema's limit).
import type { TagLimits } from "../../shared/provider";

export const OPENSTACK_TAG_LIMITS: TagLimits = { maxTags: 128, maxKeyLength: 255, maxValueLength: 255 };
