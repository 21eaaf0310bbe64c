// Nova's versioned notifications (instance.create.end, instance.update,
// instance.power_off.end, instance.delete.end, ...) as change notices for
// WatchInstances: the cloud tells us the moment something changed, and the
// watch relists at once instead of at its next poll. The relist stays the
// source of truth (a notice can be lost while the connection is down, so the
// periodic relist reconciles), which is why a notice carries no state here.
//
// Nova publishes on the message bus operators run for it (RabbitMQ,
// oslo.messaging): topic exchange "nova", routing keys
// "versioned_notifications.<priority>", each body an oslo envelope
// {"oslo.version": "2.0", "oslo.message": "<JSON>"} around
// {"event_type": "instance.update", "payload": {...}}. We listen on a
// private, server-named queue that disappears with our connection, so a
// provider that stops leaves nothing behind on the bus.
//
// Needs in nova.conf: [oslo_messaging_notifications] driver = messagingv2
// and [notifications] notification_format = versioned (or both).
import type { Logger } from "../../shared/log";
import { bounded } from "../../shared/quote";

export interface NovaNotificationsOptions {
  /** amqp://USER:PASSWORD@HOST:5672/VHOST (a secret: never logged). */
  url: string;
  /** Nova's control exchange ("nova" unless the operator changed it). */
  exchange?: string;
  /** The versioned topic ("versioned_notifications" unless changed). */
  topic?: string;
  log: Logger;
}

/** Longest shutdown waits for the bus to acknowledge the close. */
const CLOSE_WAIT_MS = 1000;

/** What one notice says: an instance event, and which instance. */
export interface NovaNotice {
  eventType: string;
  instanceId?: string;
}

/** The instance notice inside an oslo envelope, or undefined for anything else. */
export function parseNovaNotification(body: unknown): NovaNotice | undefined {
  let message = body;
  if (typeof message === "string" || message instanceof Uint8Array) {
    try {
      message = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      return undefined;
    }
  }
  const envelope = message as { "oslo.message"?: unknown } | null;
  if (envelope && typeof envelope === "object" && typeof envelope["oslo.message"] === "string") {
    try {
      message = JSON.parse(envelope["oslo.message"]);
    } catch {
      return undefined;
    }
  }
  const m = message as { event_type?: unknown; payload?: { "nova_object.data"?: { uuid?: unknown } } } | null;
  if (!m || typeof m !== "object" || typeof m.event_type !== "string" || !m.event_type.startsWith("instance.")) return undefined;
  const uuid = m.payload?.["nova_object.data"]?.uuid;
  return { eventType: m.event_type, instanceId: typeof uuid === "string" ? uuid : undefined };
}

/** The URL without its password, for logs. */
export function redactAmqpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "redacted";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

export interface NovaNotifications {
  /** Calls `onNotice` for every instance notice until the returned function is called. */
  subscribe(onNotice: (notice: NovaNotice) => void): () => void;
  close(): Promise<void>;
}

/**
 * One connection to the bus per provider process, opened on the first
 * subscriber and shared by all (every tenant's watches): reconnecting and
 * re-declaring after a broker restart is the client library's job.
 */
export function novaNotifications(opts: NovaNotificationsOptions): NovaNotifications {
  const listeners = new Set<(notice: NovaNotice) => void>();
  let running: { close(): Promise<void> } | undefined;
  let starting: Promise<void> | undefined;

  const start = async () => {
    // Loaded only when a watch needs it: a provider without notices never parses the AMQP client.
    const { Connection } = await import("rabbitmq-client");
    const exchange = opts.exchange ?? "nova";
    const topic = opts.topic ?? "versioned_notifications";
    const connection = new Connection({ url: opts.url, connectionName: "skyclust-openstack-provider watch", retryLow: 500, retryHigh: 30_000 });
    let lastError = "";
    connection.on("error", (err: Error) => {
      // The library reconnects by itself; say so once per distinct failure, without the URL's password.
      const why = bounded(err.message, 200);
      if (why !== lastError) opts.log.warn("nova notifications: bus connection failed; reconnecting", { bus: redactAmqpUrl(opts.url), reason: why });
      lastError = why;
    });
    connection.on("connection", () => (lastError = ""));
    const consumer = connection.createConsumer(
      {
        queue: "",
        queueOptions: { exclusive: true, autoDelete: true, durable: false },
        // Declared as oslo.messaging declares it, so both sides agree (a mismatch is a channel error).
        exchanges: [{ exchange, type: "topic", durable: false, autoDelete: false }],
        queueBindings: [{ exchange, routingKey: `${topic}.*` }],
        noAck: true,
      },
      (msg) => {
        const notice = parseNovaNotification(msg.body);
        if (!notice) return;
        for (const l of listeners) l(notice);
      },
    );
    consumer.on("error", (err: Error) => opts.log.warn("nova notifications: consumer error", { reason: bounded(err.message, 200) }));
    // "ready" comes after the queue is declared and bound (again after each
    // reconnect): only from then on does a published notice reach us.
    consumer.on("ready", () => opts.log.info("nova notifications: listening", { bus: redactAmqpUrl(opts.url), exchange, topic }));
    running = {
      async close() {
        // Closing waits for the broker; one that never answered must not hold up shutdown.
        const bounded = new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref?.());
        await Promise.race([Promise.allSettled([consumer.close(), connection.close()]), bounded]);
      },
    };
  };

  return {
    subscribe(onNotice) {
      listeners.add(onNotice);
      starting ??= start().catch((err: Error) => {
        starting = undefined;
        opts.log.warn("nova notifications: cannot start; watches keep polling", { reason: bounded(err.message, 200) });
      });
      return () => listeners.delete(onNotice);
    },
    async close() {
      listeners.clear();
      await starting;
      await running?.close();
    },
  };
}
