/**
 * Turns per key inside one process: callers of `turn(key, fn)` with the same key run `fn` one at a
 * time, first come first served; other keys are not held up.
 *
 * For read-decide-compare-and-set loops on one document (a plan, a payout position). N callers that
 * all read the same version and all try to write it make one winner and N-1 losers, which read and
 * decide again: N² reads and decisions for N changes, and on a slow store the last of a burst of 30
 * payouts (60 writes to one position) or 50 repayments of one plan waited past the request time-out
 * or lost 50 times in a row ("too contended"). Taking turns in the process, each caller reads the
 * version the previous one wrote: one read and one decision per change, and a compare-and-set lost
 * only to another node. Safety still rests on the compare-and-set alone (other nodes write without
 * these turns); this is about not wasting the store's time.
 */
export type TakeTurn = <R>(key: string, fn: () => Promise<R>) => Promise<R>;

export function keyedTurns(): TakeTurn {
  const tails = new Map<string, Promise<void>>();
  return async <R>(key: string, fn: () => Promise<R>): Promise<R> => {
    const prev = tails.get(key);
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    const tail = prev ? prev.then(() => mine) : mine;
    tails.set(key, tail);
    try {
      if (prev) await prev;
      return await fn();
    } finally {
      done();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
