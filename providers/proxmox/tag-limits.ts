// Proxmox has no key=value tags: a value-less tag becomes a PVE tag, any
// other is written URL-encoded into the guest's description, which PVE caps
// at 8 KiB. 20 tags with keys up to 32 and values up to 64 characters fit
// that cap even when every character needs URL encoding (3 bytes each).
import type { TagLimits } from "../../shared/provider";

export const PROXMOX_TAG_LIMITS: TagLimits = { maxTags: 20, maxKeyLength: 32, maxValueLength: 64 };
