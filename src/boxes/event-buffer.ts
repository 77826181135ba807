// A bounded first-in-first-out buffer (pure): what the shared events mirror holds until the shared store
// takes it. Full, it drops its oldest item for each new one and counts the drops, so memory stays bounded
// however long the database is away. A batch is taken out while it is sent (so what is on its way is never
// counted as dropped) and put back in front when the send fails, the oldest then dropped beyond the bound.

export class EventBuffer<T> {
  private items: T[] = [];
  private head = 0;
  private droppedSinceTake = 0;
  /** items dropped to make room, since the buffer was made */
  droppedTotal = 0;

  /** `max`: how many items it holds at most (a whole number >= 1). */
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`buffer size must be a whole number >= 1, got ${max}`);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds an item at the end; returns true when the oldest one was dropped to make room. */
  push(value: T): boolean {
    this.items.push(value);
    return this.trim() > 0;
  }

  /** Takes out the oldest `n` items (fewer when it holds fewer). */
  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + Math.max(0, n));
    this.head += out.length;
    this.compact();
    return out;
  }

  /** Puts items taken out back in front (their send failed); the oldest beyond `max` are dropped. Returns how many. */
  putBack(items: readonly T[]): number {
    if (!items.length) return 0;
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
    return this.trim();
  }

  /** How many were dropped since the last call (the count starts again at 0). */
  takeDropped(): number {
    const n = this.droppedSinceTake;
    this.droppedSinceTake = 0;
    return n;
  }

  private trim(): number {
    const over = Math.max(0, this.size - this.max);
    if (over) {
      this.head += over;
      this.droppedSinceTake += over;
      this.droppedTotal += over;
      this.compact();
    }
    return over;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
