// Nova notifications as change notices, against the testbed's real
// RabbitMQ: envelopes published the way oslo.messaging publishes them
// reach subscribers; other events and garbage do not; closing leaves no
// queue behind. (Nova itself publishing is covered by the watch tests.)
import { afterAll, describe, expect, test } from "bun:test";
import { Connection } from "rabbitmq-client";
import { captureLogger } from "../../shared/testing/harness";
import { novaNotifications, parseNovaNotification, redactAmqpUrl, type NovaNotice } from "./notifications";
import { TESTBED_BUS_URL } from "./testing/testbed";

const envelope = (event_type: string, uuid: string) => ({
  "oslo.version": "2.0",
  "oslo.message": JSON.stringify({ event_type, priority: "INFO", publisher_id: "nova-compute:testbed", payload: { "nova_object.name": "InstanceUpdatePayload", "nova_object.data": { uuid, state: "active" } } }),
});

const publisher = new Connection(TESTBED_BUS_URL);
// Bounded: a broker that went away must not hold the file's teardown for the whole hook timeout.
afterAll(() => Promise.race([publisher.close(), Bun.sleep(2_000)]));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await Bun.sleep(25);
  }
  throw new Error(`never happened: ${what}`);
}

describe("parseNovaNotification", () => {
  test("reads instance events from oslo envelopes, raw bodies and bytes; ignores the rest", () => {
    expect(parseNovaNotification(envelope("instance.update", "u1"))).toEqual({ eventType: "instance.update", instanceId: "u1" });
    expect(parseNovaNotification(JSON.stringify(envelope("instance.delete.end", "u2")))).toEqual({ eventType: "instance.delete.end", instanceId: "u2" });
    expect(parseNovaNotification(new TextEncoder().encode(JSON.stringify({ event_type: "instance.power_off.end", payload: {} })))).toEqual({ eventType: "instance.power_off.end", instanceId: undefined });
    expect(parseNovaNotification(envelope("aggregate.create.end", "x"))).toBeUndefined();
    expect(parseNovaNotification("{not json")).toBeUndefined();
    expect(parseNovaNotification({ "oslo.message": "{broken" })).toBeUndefined();
    expect(parseNovaNotification(null)).toBeUndefined();
  });

  test("the bus URL is logged without its password", () => {
    expect(redactAmqpUrl("amqp://openstack:s3cret@bus:5672/")).not.toContain("s3cret");
  });
});

describe("novaNotifications against the testbed's RabbitMQ", () => {
  test("instance notices published on exchange nova reach every subscriber; unsubscribed ones stop", async () => {
    const { log, lines } = captureLogger();
    const bus = novaNotifications({ url: TESTBED_BUS_URL, log });
    // The bus is shared: Nova publishes for every instance any other test
    // touches, so only this test's own (random) instance ids are counted.
    const run = crypto.randomUUID();
    const ours = (n: NovaNotice) => n.instanceId?.startsWith(run) === true;
    const a: NovaNotice[] = [];
    const b: NovaNotice[] = [];
    const stopA = bus.subscribe((n) => ours(n) && a.push(n));
    bus.subscribe((n) => ours(n) && b.push(n));
    await until(() => lines.some((l) => l.includes("nova notifications: listening")), "consumer ready");
    const pub = publisher.createPublisher({});
    try {
      await pub.send({ exchange: "nova", routingKey: "versioned_notifications.info" }, envelope("instance.update", `${run}-vm-1`));
      await pub.send({ exchange: "nova", routingKey: "versioned_notifications.info" }, envelope("service.update", `${run}-svc`));
      await until(() => a.length === 1 && b.length === 1, "notice delivered");
      stopA();
      await pub.send({ exchange: "nova", routingKey: "versioned_notifications.error" }, envelope("instance.create.error", `${run}-vm-2`));
      await until(() => b.length === 2, "second notice");
      expect(a.map((n) => n.instanceId)).toEqual([`${run}-vm-1`]);
      expect(b.map((n) => n.eventType)).toEqual(["instance.update", "instance.create.error"]);
    } finally {
      await pub.close();
      await bus.close();
    }
    expect(lines.join("\n")).not.toContain("secret@");
  });

  test("an unreachable bus is a logged warning, not a failure: watches keep polling", async () => {
    const { log, lines } = captureLogger();
    const bus = novaNotifications({ url: "amqp://openstack:hunter2@127.0.0.1:1/", log });
    bus.subscribe(() => {});
    await until(() => lines.some((l) => l.includes("bus connection failed")), "warning");
    expect(lines.join("\n")).not.toContain("hunter2");
    await bus.close();
  });
});
