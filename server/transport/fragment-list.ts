/**
 * One frame list per connection for `ws`'s receiver, instead of a new one per message.
 *
 * The receiver collects a message's frames in its `_fragments` array and, when the message is
 * complete, replaces that array with a new empty one. A DDP connection lives long and, idle,
 * receives a message every 15–30 s (heartbeats): by then its empty array has been promoted to
 * V8's old generation, and when it dies holding the new message's buffers, those (the array's
 * elements, the Buffer and its ArrayBuffer, about 300 bytes) stay reachable for young-generation
 * collections until the next full one. With 15 000 idle connections per process that was
 * 1.2–1.8 MB copied by every scavenge, pauses of 10–16 ms on both cores of a 2-core machine
 * (`--trace-gc-nvp`), which is what the p99 of other connections' calls measured. Handing the
 * receiver back the connection's first array, emptied, after each text message leaves nothing
 * old pointing at young buffers.
 *
 * `_receiver` and `_fragments` are `ws` internals (8.x): if they are not there, nothing is done,
 * and test/server/transport-fragments.test.ts says so.
 */
import type { WebSocket } from 'ws';

interface ReceiverFragments { _fragments?: unknown }

/** The receiver of `ws`, when it has the frame list this module recycles. */
function receiverOf(ws: WebSocket): ReceiverFragments | null {
  const receiver = (ws as unknown as { _receiver?: ReceiverFragments | null })._receiver;
  return receiver && Array.isArray(receiver._fragments) ? receiver : null;
}

/** The connection's frame list, to keep for {@link recycleFragmentList} (null when `ws` has none). */
export function fragmentListOf(ws: WebSocket): unknown[] | null {
  return (receiverOf(ws)?._fragments as unknown[] | undefined) ?? null;
}

/**
 * Called from the `message` event of a text message (the receiver has already swapped in a new
 * empty list, which no frame has reached yet): gives it back `list`, emptied.
 */
export function recycleFragmentList(ws: WebSocket, list: unknown[]): void {
  const receiver = receiverOf(ws);
  if (receiver === null || receiver._fragments === list || (receiver._fragments as unknown[]).length !== 0) return;
  list.length = 0;
  receiver._fragments = list;
}
