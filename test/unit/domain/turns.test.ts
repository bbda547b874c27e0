import { keyedTurns } from "../../../domain/turns";

const tick = () => new Promise((r) => setImmediate(r));

describe("keyedTurns", () => {
  it("runs the callers of one key one at a time, in arrival order", async () => {
    const turn = keyedTurns();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        turn("plan-1", async () => {
          inside++;
          most = Math.max(most, inside);
          log.push(`start ${i}`);
          await tick();
          log.push(`end ${i}`);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(log).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`start ${i}`, `end ${i}`]));
  });

  it("does not hold up other keys", async () => {
    const turn = keyedTurns();
    let release!: () => void;
    const held = turn("a", () => new Promise<void>((r) => (release = r)));
    await expect(turn("b", async () => "b done")).resolves.toBe("b done");
    release();
    await held;
  });

  it("passes results and errors through, and a failed turn lets the next one go", async () => {
    const turn = keyedTurns();
    const failed = turn("k", async () => {
      throw new Error("store away");
    });
    const next = turn("k", async () => 42);
    await expect(failed).rejects.toThrow("store away");
    await expect(next).resolves.toBe(42);
    await expect(turn("k", async () => "again")).resolves.toBe("again");
  });
});
