// Change notices between boxes (issue 19, planning together): a box that writes an account mark, a move
// reservation or a queued task's state also sends a notice on one PostgreSQL channel (NOTIFY, delivered at
// the writing transaction's commit), and every box listens on one connection of its own (LISTEN), so a
// refusal on one box reaches the others in milliseconds instead of at their next polled round. The rounds
// go on polling as before: a notice only brings a round forward, and a lost connection loses nothing.

/** The channel every box listens on. */
export const SHARED_CHANNEL = "cf_shared";

/** What a notice says changed: marks → account states; reservations → planned moves; tasks → the queue. */
export const SHARED_TOPICS = ["marks", "reservations", "tasks"] as const;
export type SharedTopic = (typeof SHARED_TOPICS)[number];

export interface SharedNotice {
  topic: SharedTopic;
  /** the box whose write it was */
  box: string;
}

/** A live subscription; `close` ends it (never rejects). */
export interface SharedListener {
  close(): Promise<void>;
}

/** A shared store whose writes send notices (the PostgreSQL backend; SQLite has no other box to tell). */
export interface SharedNotifier {
  /**
   * Listens on SHARED_CHANNEL on a connection of its own. `onNotice` gets every box's notices, this box's
   * too; `onLost` is called once when the connection ends (the server went away), after which the listener
   * is dead and a new one must be made. Rejects like the store when the database is unreachable.
   */
  listen(onNotice: (n: SharedNotice) => void, onLost: (err: string) => void): Promise<SharedListener>;
}

export function isNotifier(s: object): s is SharedNotifier {
  return typeof (s as Partial<SharedNotifier>).listen === "function";
}

/** The payload a write sends: JSON `{"topic", "box"}` (a box name may hold any character). */
export function noticePayload(n: SharedNotice): string {
  return JSON.stringify({ topic: n.topic, box: n.box });
}

/** A payload read back; null for anything this version does not know (a newer box's topic, garbage). */
export function parseNotice(payload: string | undefined): SharedNotice | null {
  if (!payload) return null;
  try {
    const v = JSON.parse(payload) as { topic?: unknown; box?: unknown };
    if (typeof v.box !== "string" || !SHARED_TOPICS.includes(v.topic as SharedTopic)) return null;
    return { topic: v.topic as SharedTopic, box: v.box };
  } catch {
    return null;
  }
}
