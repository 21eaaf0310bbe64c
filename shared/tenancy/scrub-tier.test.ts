// Callers' secrets have a scrubber tier of their own: any number of per-call
// documents never pushes the operator's configured secrets out, and a
// tenant's secret that a backend remembers again stays in the tenant tier.
import { expect, test } from "bun:test";
import { MAX_KNOWN_SETTINGS, MAX_KNOWN_TENANT, REDACTED, rememberSecret, rememberTenantSecret, scrub } from "../cloud/scrub";

test("a flood of tenant secrets leaves the operator's secrets known", () => {
  const operator = "operator-secret-3f9a1c7e5b2d";
  rememberSecret(operator);
  for (let i = 0; i < MAX_KNOWN_TENANT + 10; i++) rememberTenantSecret(`tenant-secret-${i.toString().padStart(6, "0")}`);
  expect(scrub(`upstream said ${operator}`)).toBe(`upstream said ${REDACTED}`);
  // The newest tenant secrets are known; the oldest made room.
  expect(scrub(`x tenant-secret-${(MAX_KNOWN_TENANT + 9).toString().padStart(6, "0")} y`)).toBe(`x ${REDACTED} y`);
  expect(scrub("x tenant-secret-000000 y")).toBe("x tenant-secret-000000 y");
});

test("a tenant secret remembered again as a setting takes no place among the operator's", () => {
  const operator = "operator-secret-for-the-second-test-77";
  rememberSecret(operator);
  const tenant = "tenant-private-key-body-0a9b8c7d";
  rememberTenantSecret(tenant);
  // As a backend factory would for a key it was handed: a no-op, already known.
  for (let i = 0; i < MAX_KNOWN_SETTINGS + 5; i++) rememberSecret(tenant);
  expect(scrub(operator)).toBe(REDACTED);
  expect(scrub(tenant)).toBe(REDACTED);
});
