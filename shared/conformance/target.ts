// What the conformance suite (suite.ts) needs from a target: a running
// provider wired to its real peer (moto, the OpenStack testbed, the recorded
// GCE and PVE servers, or the sandbox), what to create there, and the few
// hooks that reach into the peer (hold a create, hang a region, echo a
// request). The suite is the same for every target; the targets live next to
// their provider (providers/<cloud>/testing/conformance-target.ts), because
// shared/ never imports a provider.
import type { TestProvider } from "../testing/harness";
import type { CapabilityFlag } from "../capabilities";

/** What the suite creates on this target. */
export interface ConformanceFixture {
  /** A concrete region (zone, node) to create in; ListInstances of it is paged by the suite. */
  region: string;
  /** An instance type the peer accepts. */
  type: string;
  /** An image the peer accepts; undefined = the provider's default. */
  imageId?: string;
  /** A well-formed instance id the peer does not know (formats differ per cloud). */
  unknownInstanceId: string;
}

/** A cloud answer held back until release(). */
export interface Hold {
  /** Resolves when the request reached the peer (the call is in flight there). */
  arrived: Promise<unknown>;
  release(): void;
}

export interface HangableRegion {
  /** A region of the "*" fan-out whose endpoint can be made to hang. */
  region: string;
  /** From now on that region's instance listings never answer, until release(). */
  hang(): Hold;
}

export interface EchoingPeer {
  /**
   * The peer's next answer to a listing of the fixture's region becomes an
   * error whose body quotes the request (headers and body, credentials
   * included), as a debugging proxy or an emulator in debug mode does.
   */
  arm(): Disarm;
  /** Every credential the provider holds or sent (asked after the call: tokens bought with them). */
  secrets(): string[];
}

/** Puts the peer back to answering normally. */
export type Disarm = () => void;

/** The hooks of TargetSession a target may lack. */
export type Hook = "holdNextCreate" | "hangRegion" | "echo" | "ssh";

export interface TargetSession {
  provider: TestProvider;
  fixture: ConformanceFixture;
  /** The peer holds its answer to the next instance create until release(). */
  holdNextCreate?: () => Hold;
  hangRegion?: HangableRegion;
  echo?: EchoingPeer;
  /** A key pair name the provider logs in with: every instance is reachable over SSH (the sandbox pointed at a real sshd). */
  ssh?: { keyPairName: string };
  /** Changes the cloud directly, not through the provider (awscli, Nova REST, the stand-ins' own state). */
  behindTheBack?: {
    stop(instanceId: string): Promise<void>;
    remove(instanceId: string): Promise<void>;
  };
  /** Instance listings the peer has answered so far (the cloud-side call budget of a watch). */
  listingCalls?(): number;
  /** Stops the provider and the peer (and removes what the run created where the peer is shared). */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** More provider flags (the watch suite's timing, a metrics listener). */
  args?: string[];
}

export interface ConformanceTarget {
  /** "aws (moto)", "sandbox", ... */
  name: string;
  start(opts?: StartOptions): Promise<TargetSession>;
  /** Generous bound for one case on this peer (a real Nova boots servers in seconds, not milliseconds). */
  caseTimeoutMs?: number;
  /**
   * The hooks this target cannot offer, each with the reason; the cases that
   * need one are skipped with the reason in their name. Known before the
   * peer starts, so the skip shows in the test list.
   */
  cannot?: Partial<Record<Hook, string>>;
}

/**
 * Whether the provider says it can do `key` (GetProviderInfo.capabilities,
 * the fixed vocabulary of shared/capabilities.ts: "true" or "false" on the
 * wire). Every capability question of the suite goes through here; an
 * absent or non-boolean flag is a provider bug and fails the case.
 */
export function supports(capabilities: Record<string, string>, key: CapabilityKey): boolean {
  const value = capabilities[key];
  if (value !== "true" && value !== "false") throw new Error(`capability ${key} is ${JSON.stringify(value)}, not "true" or "false" (shared/capabilities.ts)`);
  return value === "true";
}

/** The capabilities the suite asks about: any flag of the fixed vocabulary. */
export type CapabilityKey = CapabilityFlag;
