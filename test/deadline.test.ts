/**
 * src/deadline.ts: a fetch's time limit that aborts as AbortSignal.timeout does, and leaves no timer behind once
 * cleared (AbortSignal.timeout's keeps the request alive until it fires: workerd issue #4936).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { deadlineSignal, withDeadline, withDeadlineSignal } from "../src/deadline.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("deadlineSignal", () => {
  it("aborts with a TimeoutError once its time has passed", async () => {
    const { signal } = deadlineSignal(5);
    const reason = await new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe("TimeoutError");
  });

  it("never aborts once cleared", () => {
    vi.useFakeTimers();
    const deadline = deadlineSignal(1_000);
    deadline.clear();
    vi.advanceTimersByTime(5_000);
    expect(deadline.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("withDeadlineSignal", () => {
  it("hands the work a signal that aborts once its time has passed", async () => {
    const reason = await withDeadlineSignal(5, (signal) => new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason))));
    expect((reason as DOMException).name).toBe("TimeoutError");
  });

  it("leaves no timer behind once the work has settled, failed or not", async () => {
    vi.useFakeTimers();
    await expect(withDeadlineSignal(1_000, async () => 7)).resolves.toBe(7);
    await expect(withDeadlineSignal(1_000, async () => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("withDeadline", () => {
  it("rejects naming what timed out", async () => {
    await expect(withDeadline(new Promise(() => {}), 5, "KV read")).rejects.toThrow("KV read timed out after 5 ms");
  });

  it("leaves no timer behind once the work is done", async () => {
    vi.useFakeTimers();
    await expect(withDeadline(Promise.resolve(7), 1_000, "KV read")).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });
});
