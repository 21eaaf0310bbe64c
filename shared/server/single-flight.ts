// Single-flight: concurrent calls with the same key share one piece of work
// (one cloud create per idempotency key), and each caller's cancellation or
// deadline ends only its own wait.
//
// The shared work runs on a signal of its own, which fires only when no
// caller waits for it any more. That keeps the rule "a caller's deadline
// cancels its cloud calls" for a caller alone (an abandoned create is
// recoverable: a retry with the same key is answered by the cloud's own
// de-duplication: ClientToken, requestId, the key's tag), while one caller
// with a short deadline can no longer cancel the create the others wait for.
// Never aborting would let a create nobody wants run on after every caller
// left, holding the cloud call (and, on Proxmox, a half-cloned guest) with no
// one to report to.
//
// The entry is removed when the work settles, so a caller arriving later
// starts fresh work (and meets the cloud-side de-duplication). A caller
// arriving while abandoned work is still winding down waits for it to
// settle (within its own deadline) before starting again, so two pieces of
// work for one key never overlap in this process.

export interface FlightOptions<T> {
  /** The work, on a signal that fires only when every caller has left. */
  work: (signal: AbortSignal) => Promise<T>;
  /**
   * What the work is for (a fingerprint of the request). A caller with the
   * same key but another fingerprint does not share the work: `conflict`
   * tells it why.
   */
  fingerprint: string;
  /** The caller's own signal: ends its wait, never the shared work while others wait. */
  signal: AbortSignal;
}

interface Flight<T> {
  fingerprint: string;
  controller: AbortController;
  waiters: number;
  settled: boolean;
  promise: Promise<T>;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  constructor(
    private readonly hooks: {
      /** The error a caller gets whose fingerprint differs from the running work's. */
      conflict: (key: string) => Error;
      /** Told when a caller joins work already running (metrics). */
      onJoin?: () => void;
    },
  ) {}

  /** Keys with work in flight (tests, diagnostics). */
  get size(): number {
    return this.flights.size;
  }

  async run(key: string, opts: FlightOptions<T>): Promise<T> {
    for (;;) {
      opts.signal.throwIfAborted();
      const current = this.flights.get(key);
      if (!current) return this.join(this.start(key, opts), opts.signal);
      if (current.fingerprint !== opts.fingerprint) throw this.hooks.conflict(key);
      if (!current.controller.signal.aborted) {
        this.hooks.onJoin?.();
        return this.join(current, opts.signal);
      }
      // Abandoned by all its callers and still winding down: wait, then start afresh.
      await untilSettled(current.promise, opts.signal);
    }
  }

  private start(key: string, opts: FlightOptions<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = { fingerprint: opts.fingerprint, controller, waiters: 0, settled: false, promise: undefined as never };
    flight.promise = (async () => opts.work(controller.signal))().finally(() => {
      flight.settled = true;
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    // Abandoned work may fail with nobody listening.
    flight.promise.catch(() => {});
    this.flights.set(key, flight);
    return flight;
  }

  private join(flight: Flight<T>, signal: AbortSignal): Promise<T> {
    flight.waiters++;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const leave = () => {
        if (done) return false;
        done = true;
        signal.removeEventListener("abort", onAbort);
        flight.waiters--;
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (flight.waiters === 0 && !flight.settled) flight.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) return onAbort();
      flight.promise.then(
        (value) => leave() && resolve(value),
        (err) => leave() && reject(err),
      );
    });
  }
}

function untilSettled(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      () => {},
      () => {},
    ).finally(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
