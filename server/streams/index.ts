/**
 * Streams as in Rocket.Chat's Realtime API: `server.stream(name, {read, emit})`.
 * @module
 */
export { MAX_EVENT_NAME_LENGTH, Stream, type StreamListener, type StreamSink } from './stream.js';
export { StreamRegistry, type StreamHost, type StreamOptions, type StreamRelay, type StreamRule, type StreamRuleContext } from './registry.js';
