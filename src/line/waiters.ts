/**
 * Requests waiting, in the line object's memory, for another request on the same call to finish (a voice
 * registration, a transfer's Twilio update or its way back to the AI). Lost on eviction, which only ends the
 * waits early: every waiter re-reads storage afterwards.
 */
export class Waiters<T> {
  private readonly waiting = new Map<string, Set<(value: T) => void>>();

  /** Resolves with the value `wake` hands over, or null after `ms`. */
  wait(key: string, ms: number): Promise<T | null> {
    return new Promise((resolve) => {
      let waiting = this.waiting.get(key);
      if (!waiting) this.waiting.set(key, (waiting = new Set()));
      const wake = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiting.delete(wake);
        resolve(null);
      }, Math.max(0, ms));
      waiting.add(wake);
    });
  }

  /** Hands `value` to every request waiting on `key`. */
  wake(key: string, value: T): void {
    const waiting = this.waiting.get(key);
    this.waiting.delete(key);
    for (const wake of waiting ?? []) wake(value);
  }
}
