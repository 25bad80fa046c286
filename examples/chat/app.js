// @ts-check
/**
 * A small chat for `ddp-guard serve --app examples/chat/app.js`: rooms, messages, a guarded
 * delete and live publications. The README's `call`, `shell`, `script` and HTTP examples run
 * against it (test/docs/commands.test.ts runs every one of them).
 *
 * Everything lives in memory and is lost when the server stops; a real application would keep
 * rooms and messages in its own database. Plain JavaScript with JSDoc types, type-checked by
 * examples/tsconfig.json, so it runs as is.
 */
import { DdpError, Match } from 'ddp-guard/server';

/** @typedef {import('ddp-guard/server').GuardServer} GuardServer */
/** @typedef {{ name: string, createdBy: string | null, createdAt: Date }} Room */
/** @typedef {{ roomId: string, text: string, userId: string, at: Date }} Message */
/** @typedef {{ kind: 'added' | 'removed', collection: 'rooms' | 'messages', id: string, fields?: Room | Message }} Change */

/** Longest room name and message, in characters. */
const MAX_NAME = 80;
const MAX_TEXT = 2000;
/** Messages a `messages` subscription starts with. */
const HISTORY = 50;

/** @param {GuardServer} server */
export default function chat(server) {
  /** @type {Map<string, Room>} */
  const rooms = new Map([
    ['general', { name: 'General', createdBy: null, createdAt: new Date() }],
    ['random', { name: 'Random', createdBy: null, createdAt: new Date() }],
  ]);
  /** @type {Map<string, Message>} */
  const messages = new Map();
  /** @type {Set<(change: Change) => void>} */
  const watchers = new Set();
  let nextId = 1;

  /** @param {Change} change */
  const announce = (change) => {
    for (const watch of watchers) watch(change);
  };

  /** @param {string} roomId */
  const roomOf = (roomId) => {
    const room = rooms.get(roomId);
    if (!room) throw new DdpError('room-not-found', `No room '${roomId}'`);
    return room;
  };

  server.methods({
    /** Returns its parameters: try EJSON (dates, binary) from any client. */
    echo(...params) {
      return params;
    },

    /** Every room, for anyone. */
    'rooms.list': {
      params: [],
      handler() {
        return [...rooms].map(([id, room]) => ({ id, name: room.name }));
      },
    },

    'rooms.create': {
      requireUser: true,
      params: [Match.Text(MAX_NAME, 1)],
      /** @param {string} name */
      handler(name) {
        const id = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `room-${nextId++}`;
        if (rooms.has(id)) throw new DdpError('room-exists', `A room '${id}' exists already`);
        const room = { name, createdBy: this.userId, createdAt: new Date() };
        rooms.set(id, room);
        announce({ kind: 'added', collection: 'rooms', id, fields: room });
        return { id };
      },
    },

    'messages.send': {
      requireUser: true,
      params: [String, Match.Text(MAX_TEXT, 1)],
      /** @param {string} roomId @param {string} text */
      handler(roomId, text) {
        roomOf(roomId);
        const id = `m${nextId++}`;
        /** @type {Message} */
        const message = { roomId, text, userId: /** @type {string} */ (this.userId), at: new Date() };
        messages.set(id, message);
        announce({ kind: 'added', collection: 'messages', id, fields: message });
        return { id, ...message };
      },
    },

    // Deleting a room takes its messages with it: the second factor is asked (or a trusted
    // client's recent check counts), whoever holds the session.
    'rooms.delete': {
      requireUser: true,
      twoFactor: true,
      params: [String],
      /** @param {string} roomId */
      handler(roomId) {
        roomOf(roomId);
        for (const [id, message] of messages) {
          if (message.roomId !== roomId) continue;
          messages.delete(id);
          announce({ kind: 'removed', collection: 'messages', id });
        }
        rooms.delete(roomId);
        announce({ kind: 'removed', collection: 'rooms', id: roomId });
        return { deleted: roomId };
      },
    },
  });

  /** Every room, live. */
  server.publish('rooms', function () {
    for (const [id, room] of rooms) this.added('rooms', id, room);
    /** @param {Change} change */
    const watch = (change) => {
      if (change.collection !== 'rooms') return;
      if (change.kind === 'added' && change.fields) this.added('rooms', change.id, change.fields);
      else this.removed('rooms', change.id);
    };
    watchers.add(watch);
    this.onStop(() => watchers.delete(watch));
    this.ready();
  });

  /** The last messages of a room, then new ones as they come; for logged-in users. */
  server.publish('messages', function (roomId) {
    roomOf(roomId);
    const recent = [...messages].filter(([, m]) => m.roomId === roomId).slice(-HISTORY);
    for (const [id, message] of recent) this.added('messages', id, message);
    /** @type {Set<string>} */
    const sent = new Set(recent.map(([id]) => id));
    /** @param {Change} change */
    const watch = (change) => {
      if (change.collection !== 'messages') return;
      if (change.kind === 'added' && change.fields && 'roomId' in change.fields && change.fields.roomId === roomId) {
        sent.add(change.id);
        this.added('messages', change.id, change.fields);
      } else if (change.kind === 'removed' && sent.delete(change.id)) {
        this.removed('messages', change.id);
      }
    };
    watchers.add(watch);
    this.onStop(() => watchers.delete(watch));
    this.ready();
  }, { params: [String], requireUser: true });
}
