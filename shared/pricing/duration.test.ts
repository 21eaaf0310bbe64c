// Duration parsing: every documented form, exact proration, and the errors.
import { describe, expect, test } from "bun:test";
import { ProviderError } from "../errors";
import { parseDuration } from "./duration";
import { roundToDecimals } from "./rounding";

function rejects(raw: string): ProviderError {
  try {
    parseDuration(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error(`"${raw}" was accepted`);
}

describe("parseDuration", () => {
  test.each([
    ["", 1],
    ["1h", 1],
    ["1.5h", 1.5],
    [".5h", 0.5],
    ["2 hours", 2],
    ["3hr", 3],
    ["30min", 0.5],
    ["45min", 0.75],
    ["90 minutes", 1.5],
    ["1d", 24],
    ["2days", 48],
    ["1w", 168],
    ["1.5 weeks", 252],
    ["1m", 730],
    ["1mo", 730],
    ["0.5month", 365],
    ["12 months", 8760],
    ["1y", 8760],
    ["2years", 17520],
  ])("%p is %p hours", (raw, hours) => {
    expect(parseDuration(raw).hours).toBe(hours);
  });

  test("the text is echoed trimmed, empty becomes 1h", () => {
    expect(parseDuration("  1.5h ").text).toBe("1.5h");
    expect(parseDuration("").text).toBe("1h");
  });

  test("decimals are read exactly: the hours are the double nearest the true value", () => {
    // A naive count x (1/60) gives 0.1 x 60 style drift; the exact reading does not.
    expect(parseDuration("1.1h").hours).toBe(1.1);
    expect(parseDuration("0.1h").hours).toBe(0.1);
    expect(parseDuration("10min").hours).toBe(10 / 60);
    expect(parseDuration("0.7d").hours).toBe(16.8);
    expect(parseDuration("1.10h").hours).toBe(1.1);
  });

  test.each(["1", "h", "1M", "1H", "1s", "1sec", "-1h", "1e3h", "1.h", "1h30min", "1.5.5h", "one hour", "1 h h", "0x10h", "∞h"])(
    "%p is INVALID_ARGUMENT naming the field",
    (raw) => {
      const err = rejects(raw);
      expect(err.code).toBe("INVALID_ARGUMENT");
      expect(err.details.field).toBe("duration");
      expect(err.message).toContain("min (minutes)");
    },
  );

  test("zero and absurd lengths are refused", () => {
    expect(rejects("0h").message).toContain("greater than zero");
    expect(rejects("0.0d").message).toContain("greater than zero");
    expect(rejects("101y").message).toContain("100 years");
    expect(rejects("1234567890123456h").message).toContain("digits");
  });

  test("the field name is the caller's", () => {
    const err = (() => {
      try {
        parseDuration("soon", "estimate.duration");
      } catch (e) {
        return e as ProviderError;
      }
    })();
    expect(err?.details.field).toBe("estimate.duration");
  });
});

describe("roundToDecimals (the response rounding)", () => {
  test.each([
    [0.00837575 * 730, 6.114298], // binary 6.114297499999999: half-up on the decimal value
    [0.0104 * 730, 7.592],
    [0.067006, 0.067006],
    [0.00837575, 0.008376],
    [2.5e-7, 0],
    [5e-7, 0.000001],
    [123456.78, 123456.78],
    [0, 0],
  ])("%p -> %p", (n, want) => expect(roundToDecimals(n)).toBe(want));
});
