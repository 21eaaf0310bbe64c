// A sandbox profile describes one cloud well enough for the in-memory
// sandbox to look like it: regions and zones (or nodes), instance types,
// images, id formats, the cloud's own status words and prices. Each
// provider folder owns its profile (providers/<cloud>/sandbox-profile.ts).
import type { PriceSource } from "../capabilities";
import type { PriceQuote, TagLimits } from "../provider";
import type { LoginUsers } from "../ssh/users";

export type Phase = "pending" | "running" | "stopping" | "stopped" | "rebooting" | "terminating" | "terminated";

export interface SandboxRegion {
  id: string;
  displayName: string;
  zones: string[];
  /** Defaults to "available". */
  status?: string;
}

export interface SandboxInstanceType {
  name: string;
  vcpus: number;
  memoryGiB: number;
}

export interface SandboxImage {
  id: string;
  name: string;
  /** Default SSH login user for this image family. */
  loginUser: string;
}

export interface SandboxProfile {
  provider: string;
  /** The same limits the real cloud's backend declares. */
  tagLimits: TagLimits;
  defaultRegion: string;
  regions: SandboxRegion[];
  instanceTypes: SandboxInstanceType[];
  /** The first image is used when a create leaves image_id empty. */
  images: SandboxImage[];
  /** The cloud's login users, for images the profile does not list. */
  loginUsers: LoginUsers;
  /** The cloud's own word for each lifecycle phase. */
  rawStatus: Record<Phase, string>;
  /** Deterministic ids: the n-th instance / key pair created in this process. */
  instanceId(n: number, region: string, zone: string): string;
  keyPairId(n: number): string;
  /** Private address of the n-th instance, e.g. 10.0.x.y. */
  privateIp(n: number): string;
  /**
   * Hourly price of a type in a region, from the same catalog or rate card
   * the real backend uses, so a sandbox estimate equals a cloud-mode one.
   * `known` is the sandbox's own type of that name, when it has one (rate
   * cards need its size; catalogs price any type they list). undefined =
   * not priced.
   */
  price(typeName: string, region: string, known: SandboxInstanceType | undefined): PriceQuote | undefined;
  /** Where `price` gets its numbers (the price_source capability). */
  priceSource: PriceSource;
  /** Extra facts shown in Instance.extra. */
  instanceExtra?(type: SandboxInstanceType, n: number, zone: string): Record<string, string>;
}
